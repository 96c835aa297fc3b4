"""The smoke lab: proves the wiring of a fresh environment (secret scope -> Azure OpenAI deployment ->
results in the volume) with one chat call, and that the cluster libraries left the runtime's Python environment
consistent (`pip check`). `labctl run smoke`; also what `labctl demo` runs first."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time

from labctl_labs.common import LabContext, completion_parameters, run_lab


def pip_check(python: str | None = None) -> dict:
    """`pip check` on `python` (default this interpreter): {"ok": True|False|None, "output"}; None where pip is not
    installed (an environment made by uv without pip), as nothing could be checked."""
    if python is None and importlib.util.find_spec("pip") is None:
        return {"ok": None, "output": "pip is not installed in this interpreter: nothing checked"}
    done = subprocess.run([python or sys.executable, "-m", "pip", "check"], capture_output=True, text=True,
                          timeout=300)
    return {"ok": done.returncode == 0, "output": (done.stdout + done.stderr).strip()[-4000:]}


def smoke(context: LabContext) -> int:
    client = context.openai()
    budget = completion_parameters(context.reasoning, 200 if context.reasoning is False else 400)
    started = time.perf_counter()
    answer = client.chat.completions.create(
        model=context.args.deployment, messages=[{"role": "user", "content": "Describe a nurse."}], **budget)
    latency = time.perf_counter() - started
    text = answer.choices[0].message.content or ""
    result = {
        "lab": "smoke",
        "deployment": context.args.deployment,
        "model": answer.model,
        "answer_characters": len(text),
        "finish_reason": answer.choices[0].finish_reason,
        "usage": answer.usage.model_dump() if answer.usage else None,
        "latency_seconds": round(latency, 3),
        "summary": f"{context.args.deployment} answered in {latency:.2f} s with {len(text)} characters",
        "pip_check": pip_check(),
    }
    context.save_json("smoke.json", result)
    print(result["summary"])
    if result["pip_check"]["ok"] is False:  # a cluster library broke a preinstalled one's requirements
        print("pip check found broken requirements:\n" + result["pip_check"]["output"], file=sys.stderr)
        return 1
    return 0


def main() -> None:
    sys.exit(run_lab(smoke))
