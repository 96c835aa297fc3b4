"""Soak: the whole flow (up, stage, run all, down) against a background twin under a fault plan, for N seeds.

    uv run python benchmarks/soak.py [--seeds 3] [--first-seed 1] [--plan plan.json] [--no-faults] [--truncate P]
                                     [--step-timeout up=600,stage=300,run=1800,down=600] [--json-out soak.json]

A measuring tool, not a test: it prints what happened and exits 0 whatever the product did (1 only when the
soak itself could not run, e.g. the twin did not start). Per seed it uses a fresh LABCTL_HOME, starts a twin in
it (`labctl sandbox serve`, which `labctl up --sandbox` then finds and reuses), sets the fault plan under the
key "soak" with the seed, runs each step once as its own `labctl` process (no manual rerun; a step that times out
is killed), and prints:

- each step's exit code, duration, faults injected during it, the lines of stderr that say "retry", and the
  last line of stderr of a failed step;
- each lab's result state (from `run all --json`);
- duplicates, read from the twin's inventory before `down`: Databricks runs per run name, fine-tuning jobs;
- the twin's inventory after `down`: whatever is left (resource groups, accounts, soft-deleted accounts,
  workspaces, clusters, active runs, files, fine-tuning jobs).

The default plan, on ARM (/subscriptions), Azure OpenAI (/aoai/) and Databricks (/api/) alike: 10% 429 with
the service's retry headers, 2.5% 500 (half of them after the twin acted), 2.5% 503, 2% dropped connections
(half of them after the twin acted), 20% of requests 250 ms slower. `--truncate P` adds, per service, P of answers
cut off halfway through their body (databricks-sdk does not retry that: ChunkedEncodingError).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mslearn"
STACK = "soak"
KEY = "soak"
# gpt-5: 10 requests per minute per 1,000 TPM (gpt-5-mini has 1), so the responsible-AI lab's default probe
# (1,180 requests) is not throttled for minutes on end by the quota itself.
DEPLOYMENTS = '[{"name": "chat", "model": "gpt-5", "version": "2025-08-07", "capacity": 1000}]'
SERVICES = {"arm": "^/subscriptions/", "aoai": "^/aoai/", "databricks": "^/api/"}
DEFAULT_TIMEOUTS = {"up": 600, "stage": 300, "run": 1800, "down": 600}


def default_rules(truncate: float = 0.0) -> list[dict]:
    rules = []
    for path in SERVICES.values():
        if truncate:
            rules.append({"path": path, "kind": "truncate", "probability": truncate})
        rules += [
            {"path": path, "status": 429, "probability": 0.10, "retry_headers": "service", "retry_after_ms": 1000},
            {"path": path, "status": 500, "probability": 0.0125},
            {"path": path, "status": 500, "probability": 0.0125, "when": "after"},
            {"path": path, "status": 503, "probability": 0.025},
            {"path": path, "kind": "drop", "probability": 0.01},
            {"path": path, "kind": "drop", "probability": 0.01, "when": "after"},
            {"path": path, "kind": "latency", "latency_ms": 250, "probability": 0.20},
        ]
    return rules


def describe(rule: dict) -> str:
    service = next((name for name, path in SERVICES.items() if rule["path"] == path), rule["path"])
    kind = rule.get("kind", "status")
    what = {"status": str(rule.get("status", 503)), "drop": "drop", "truncate": "truncate",
            "latency": f"+{rule.get('latency_ms', 0)}ms"}[kind]
    return f"{service}:{what}{'(after)' if rule.get('when') == 'after' else ''}"


class Twin:
    """A background twin in <home>/.labctl/sandbox, as `labctl up --sandbox` would start it."""

    def __init__(self, labctl_home: Path, env: dict):
        self.state_dir = labctl_home / "sandbox"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log = (self.state_dir / "sandbox.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from agent.cli import main; main()", "sandbox", "serve",
             "--state-dir", str(self.state_dir)],
            cwd=ROOT, env=env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the twin exited at start ({self.process.returncode}); see {self.log.name}")
            endpoints = self.state_dir / "endpoints.json"
            if endpoints.exists():
                try:
                    self.control_url = json.loads(endpoints.read_text())["data_url"] + "/_sandbox"
                    if requests.get(f"{self.control_url}/health", timeout=2).ok:
                        return
                except (ValueError, KeyError, requests.RequestException):
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the twin did not start within 60 s")

    def control(self, method: str, path: str, **kwargs):
        answer = requests.request(method, f"{self.control_url}{path}", timeout=30, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


def run_step(name: str, args: list[str], home: Path, env: dict, timeout: float, twin: Twin) -> dict:
    before = _injected(twin)
    started = time.monotonic()
    command = [sys.executable, "-c", "from agent.cli import main; main()", "--json", *args]
    process = subprocess.Popen(command, cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        code: int | str = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        code = "timeout"
    except BaseException:  # the soak itself is stopped: the step's session goes with it
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    after = _injected(twin)
    faults = Counter()
    for label, (old, new) in zip(after["labels"], zip(before["counts"], after["counts"])):
        if new > old:
            faults[label] += new - old
    lines = [line for line in stderr.splitlines() if line.strip()]
    try:
        output = json.loads(stdout) if stdout.strip() else None
    except json.JSONDecodeError:
        output = None
    error = None
    if code != 0:
        said = [line for line in lines if line.startswith("error:")]
        reported = [*output.get("failures", []), *output.get("leftovers", [])] if isinstance(output, dict) else []
        error = said[-1] if said else ("; ".join(map(str, reported)) if reported else (lines[-1] if lines else None))
    return {"step": name, "exit": code, "seconds": round(time.monotonic() - started, 1),
            "faults": sum(faults.values()), "errors": sum(n for label, n in faults.items() if "ms" not in label),
            "faults_by_rule": dict(faults),
            "retry_lines": sum(1 for line in lines if "retry" in line.lower()),
            "error": error, "output": output,
            "stderr_tail": lines[-15:] if code != 0 else []}


def _injected(twin: Twin) -> dict:
    try:
        report = twin.control("GET", f"/faults/{KEY}")
    except requests.RequestException:
        return {"labels": [], "counts": []}
    return {"labels": [describe(rule) for rule in report["plan"]["rules"]], "counts": report["injected"]}


def mine(name: str | None) -> bool:
    return bool(name) and (name.endswith(f"-{STACK}") or f"-{STACK}-" in name)


def duplicates(inventory: dict) -> dict:
    # A run's name is "labctl <lab> <timestamp of the invocation>": counted per lab, whatever the invocation.
    found = [r for w in inventory.get("databricks_workspaces", []) if mine(w["name"]) for r in w.get("runs", [])]
    runs = Counter(re.sub(r" \d{8}T\d{6}Z$", "", r["run_name"]) for r in found)
    states = {re.sub(r" \d{8}T\d{6}Z$", "", r["run_name"]).removeprefix("labctl "): r["result_state"] or r["state"]
              for r in found}
    jobs = [j for j in inventory.get("fine_tuning_jobs", []) if mine(j["account"])]
    clusters = [c for w in inventory.get("databricks_workspaces", []) if mine(w["name"]) for c in w["clusters"]]
    return {"databricks_runs_per_name": dict(runs), "run_states": states, "fine_tuning_jobs": len(jobs),
            "clusters": len(clusters)}


def leftovers(inventory: dict) -> dict:
    workspaces = inventory.get("databricks_workspaces", [])
    found = {
        "resource_groups": [g["name"] for g in inventory["resource_groups"]],
        "accounts": [a["name"] for a in inventory["accounts"]],
        "deleted_accounts": [a["name"] for a in inventory["deleted_accounts"]],
        "workspaces": [w["name"] for w in workspaces],
        "clusters": [c["cluster_id"] for w in workspaces for c in w["clusters"]],
        "active_runs": [r for w in workspaces for r in w["active_runs"]],
        "files": [f["id"] for f in inventory.get("files", [])],
        "fine_tuning_jobs": [j["id"] for j in inventory.get("fine_tuning_jobs", [])],
    }
    return {kind: names for kind, names in found.items() if names}


def soak_one(seed: int, rules: list[dict], timeouts: dict, workdir: Path) -> dict:
    home = workdir / f"seed-{seed}"
    labctl_home = home / ".labctl"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABCTL_", "DATABRICKS_", "REQUESTS_CA"))}
    env.update({"LABCTL_HOME": str(labctl_home), "LABCTL_UV": os.environ.get("LABCTL_UV", "uv")})
    twin = Twin(labctl_home, env)
    result: dict = {"seed": seed, "steps": [], "labs": {}, "duplicates": None, "inventory_after_down": None}
    try:
        if rules:
            twin.control("PUT", f"/faults/{KEY}", json={"seed": seed, "rules": rules})
        stage_args = ["stage", "--stack", STACK]
        if (DATA / "training_set.jsonl").exists():
            stage_args += ["--training-file", str(DATA / "training_set.jsonl"),
                           "--validation-file", str(DATA / "validation_set.jsonl")]
        steps = [
            ("up", ["up", "--sandbox", "--stack", STACK, "-c", f"deployments={DEPLOYMENTS}"]),
            ("stage", stage_args),
            ("run", ["run", "all", "--stack", STACK, "--results", str(home / "lab-results"), "-o", "poll_seconds=2"]),
        ]
        failed = None
        for name, args in steps:
            if failed is not None:
                result["steps"].append({"step": name, "exit": "skipped", "seconds": 0, "faults": 0, "errors": 0,
                                        "faults_by_rule": {}, "retry_lines": 0, "error": f"{failed} failed",
                                        "stderr_tail": []})
                continue
            step = run_step(name, args, home, env, timeouts[name], twin)
            result["steps"].append(step)
            if name == "run" and isinstance(step["output"], dict):
                result["labs"] = {r["lab"]: r.get("result_state") for r in step["output"].get("runs", [])}
                result["lab_errors"] = {r["lab"]: lab_error(r) for r in step["output"].get("runs", [])
                                        if r.get("result_state") != "SUCCESS"}
            if step["exit"] != 0 and name != "run":
                failed = name
        if twin.alive():
            result["duplicates"] = duplicates(twin.control("GET", "/inventory"))
        result["steps"].append(run_step("down", ["down", "--stack", STACK, "--yes"], home, env, timeouts["down"], twin))
        if twin.alive():
            result["inventory_after_down"] = leftovers(twin.control("GET", "/inventory"))
            result["faults_total"] = twin.control("GET", f"/faults/{KEY}")["total"] if rules else 0
        else:
            result["twin"] = "the twin died during the flow"
    finally:
        twin.stop()
    for step in result["steps"]:
        step.pop("output", None)
    return result


def lab_error(run: dict) -> str:
    """A failed lab's own error and the last line of its trace (the step's stderr does not have them)."""
    trace = (run.get("error_trace") or "").strip().splitlines()
    return " | ".join(filter(None, [run.get("error"), trace[-1] if trace else None]))[:400]


def print_seed(result: dict) -> None:
    print(f"\n=== seed {result['seed']} ===")
    for step in result["steps"]:
        rules = ", ".join(f"{k} x{v}" for k, v in sorted(step["faults_by_rule"].items()))
        print(f"  {step['step']:<6} exit {step['exit']!s:<8} {step['seconds']:>7.1f} s  faults {step['faults']:>3}"
              f" (errors {step['errors']:>2})"
              f"  retry lines {step['retry_lines']:>2}" + (f"  [{rules}]" if rules else ""))
        if step["error"]:
            print(f"         error: {step['error'][:300]}")
    labs = ", ".join(f"{lab} {state}" for lab, state in result["labs"].items()) or "none reported by labctl"
    print(f"  labs: {labs}")
    for lab, error in result.get("lab_errors", {}).items():
        print(f"    {lab}: {error}")
    if result["duplicates"] is not None and result["duplicates"]["run_states"]:
        states = ", ".join(f"{lab} {state}" for lab, state in sorted(result["duplicates"]["run_states"].items()))
        print(f"  runs in the twin (last per lab): {states}")
    if result["duplicates"] is not None:
        dup = result["duplicates"]
        runs = ", ".join(f"{name} x{n}" for name, n in sorted(dup["databricks_runs_per_name"].items())) or "none"
        print(f"  before down: Databricks runs per lab: {runs}; fine-tuning jobs: {dup['fine_tuning_jobs']};"
              f" clusters: {dup['clusters']}")
    if result.get("twin"):
        print(f"  {result['twin']}")
    elif result["inventory_after_down"] is not None:
        left = result["inventory_after_down"]
        print("  inventory after down: " + ("empty" if not left else
                                              "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in left.items())))
    print(f"  faults injected in all: {result.get('faults_total', 0)}")


def print_summary(results: list[dict]) -> None:
    complete = [r for r in results if all(s["exit"] == 0 for s in r["steps"])
                and r["labs"] and all(state == "SUCCESS" for state in r["labs"].values())
                and r["inventory_after_down"] == {}]
    print(f"\n=== {len(complete)} of {len(results)} flows complete (every step exit 0, every lab SUCCESS, "
          f"inventory empty after down) ===")
    for name in ("up", "stage", "run", "down"):
        codes = Counter(str(s["exit"]) for r in results for s in r["steps"] if s["step"] == name)
        print(f"  {name:<6} " + ", ".join(f"exit {code}: {n}" for code, n in sorted(codes.items())))


def parse_timeouts(text: str | None) -> dict:
    timeouts = dict(DEFAULT_TIMEOUTS)
    for pair in filter(None, (text or "").split(",")):
        key, _, value = pair.partition("=")
        if key not in timeouts:
            raise SystemExit(f"--step-timeout: unknown step {key!r} (up, stage, run, down)")
        timeouts[key] = float(value)
    return timeouts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="How many flows, one per seed.")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--plan", type=Path, help="A JSON file with a list of fault rules (the seed is the run's).")
    parser.add_argument("--no-faults", action="store_true", help="A baseline: the same flows with no faults.")
    parser.add_argument("--truncate", type=float, default=0.0,
                        help="Add, per service, this share of answers cut off halfway through their body (0-1).")
    parser.add_argument("--step-timeout", help="Seconds per step, e.g. up=600,run=1800 (each step is killed after).")
    parser.add_argument("--json-out", type=Path, help="Also write every result as JSON here.")
    parser.add_argument("--keep", action="store_true", help="Keep each seed's LABCTL_HOME (printed at the end).")
    options = parser.parse_args()
    # A soak stopped with kill (SIGTERM, SIGHUP) unwinds like Ctrl-C, so each seed's twin and running step, which
    # live in sessions of their own, are stopped rather than left serving.
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, signal.default_int_handler)
    rules = [] if options.no_faults else (json.loads(options.plan.read_text()) if options.plan else default_rules(options.truncate))
    timeouts = parse_timeouts(options.step_timeout)
    workdir = Path(tempfile.mkdtemp(prefix="labctl-soak-"))
    print(f"soak: {options.seeds} seed(s) from {options.first_seed}; {len(rules)} fault rules"
          + ("" if rules else " (no faults)") + f"; step timeouts {timeouts}")
    for rule in rules:
        print(f"  {describe(rule):<22} p={rule.get('probability', 1.0)}")
    results = []
    try:
        for seed in range(options.first_seed, options.first_seed + options.seeds):
            try:
                result = soak_one(seed, rules, timeouts, workdir)
            except RuntimeError as error:
                print(f"\n=== seed {seed} === the soak could not run: {error}")
                raise SystemExit(1) from None
            results.append(result)
            print_seed(result)
            sys.stdout.flush()
    finally:
        if options.json_out:
            options.json_out.write_text(json.dumps(results, indent=2, default=str))
        if options.keep:
            print(f"\nLABCTL_HOMEs kept under {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_summary(results)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\nsoak: stopped; the running step and the seed's twin were stopped with it", file=sys.stderr)
        raise SystemExit(130) from None
