"""File options of `labctl run` (`prompt_file`, `training_file`, `validation_file`) mean what the user means: an
absolute path outside the lab volume is a file on this machine, read and uploaded by labctl; a relative path, or an
absolute one inside the volume, is a file in the lab volume, as the README documents them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

PROMPTS = ["Tell me a joke about owls.", "Tell me a joke about whales.", "Tell me a joke about ants."]


def _llmops(labctl, stack, *options):
    runs = labctl.json("run", "llmops", "--stack", stack, "-o", "samples=2", *options)["runs"]
    assert runs[0]["result_state"] == "SUCCESS", runs[0]
    return json.loads((Path(runs[0]["results_dir"]) / "llmops.json").read_text())


def _prompt_set(prompts: list[str]) -> str:  # the lab's own name for a prompt set (labctl_labs.llmops.record_run)
    return f"{len(prompts)} prompts #{hashlib.sha256(chr(10).join(prompts).encode()).hexdigest()[:12]}"


def test_an_absolute_local_prompt_file_is_read_from_this_machine(labctl, lab_stack, tmp_path):
    local = tmp_path / "my prompts.txt"
    local.write_text("\n".join(PROMPTS) + "\n")
    result = _llmops(labctl, lab_stack, "-o", f"prompt_file={local}")
    assert result["prompts"] == 3 and result["parameters"]["prompt_set"] == _prompt_set(PROMPTS)

    # The same path given again is the same file: the run takes it without uploading it twice.
    again = labctl("run", "llmops", "--stack", lab_stack, "-o", "samples=2", "-o", f"prompt_file={local}")
    assert "uploading" not in again.stderr

    # Uploaded where a relative path finds it: inputs/<content hash>/<name>, and that relative path keeps its meaning,
    # as does the absolute path of the same file inside the volume.
    root = labctl.json("status", "--stack", lab_stack)["outputs"]["dataPath"]
    remote = f"inputs/{hashlib.sha256(local.read_bytes()).hexdigest()[:16]}/{local.name}"
    for value in (remote, f"{root}/{remote}"):
        result = _llmops(labctl, lab_stack, "-o", f"prompt_file={value}")
        assert result["parameters"]["prompt_set"] == _prompt_set(PROMPTS), value


def test_a_file_option_naming_no_file_is_one_sentence_and_nothing_runs(labctl, lab_stack, tmp_path):
    before = labctl.journal_entries(lab_stack, "run")
    missing = tmp_path / "nowhere" / "prompts.txt"
    done = labctl("run", "llmops", "--stack", lab_stack, "-o", f"prompt_file={missing}", expect=2)
    assert f"-o prompt_file={missing}: the local file cannot be read (No such file or directory)" in " ".join(
        done.stderr.split())
    done = labctl("run", "llmops", "--stack", lab_stack, "-o", "prompt_file=prompts/nope.txt", expect=2)
    assert "-o prompt_file=prompts/nope.txt: there is no such file in the lab volume" in " ".join(done.stderr.split())
    binary = tmp_path / "prompts.bin"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    done = labctl("run", "llmops", "--stack", lab_stack, "-o", f"prompt_file={binary}", expect=2)
    assert f"-o prompt_file={binary}: the file is not UTF-8 text" in " ".join(done.stderr.split())
    # A local training set is checked as Azure checks it, before anything is uploaded or submitted.
    few = tmp_path / "few.jsonl"
    few.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                            {"role": "assistant", "content": "hello"}]}) + "\n")
    done = labctl("run", "fine-tuning", "--stack", lab_stack, "-o", f"training_file={few}", expect=2)
    assert "training_file" in done.stderr and "Traceback" not in done.stderr
    assert labctl.journal_entries(lab_stack, "run") == before
