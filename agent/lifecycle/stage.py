"""`labctl stage`: build the lab artifact (agent/lab_artifact.py) and put it, with the lab's data, in the lab's remote folder.

Files whose content is unchanged since the last stage (same SHA-256 and the remote file still there
with that size) are skipped. The lab's fine-tuning datasets come from their public URLs, or from
local paths; when they cannot be fetched, labctl uses sample data of its own and says so.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent import lab_artifact
from agent.errors import UsageError
from agent.journal import Journal
from labctl_labs.storage import RemoteStore
from agent.outputs import StackOutputs
from agent.lifecycle import stack_workspace

DATASETS = {
    "training_set.jsonl": "https://github.com/MicrosoftLearning/mslearn-databricks/raw/main/data/training_set.jsonl",
    "validation_set.jsonl": "https://github.com/MicrosoftLearning/mslearn-databricks/raw/main/data/validation_set.jsonl",
}
SAMPLES = {"training_set.jsonl": "sample_training.jsonl", "validation_set.jsonl": "sample_validation.jsonl"}
STAGE_ENTRY = "stage"


@dataclass
class StagedFile:
    remote: str
    sha256: str
    bytes: int
    uploaded: bool
    source: str


@dataclass
class StageReport:
    wheel: StagedFile
    data: list[StagedFile]
    lab_entry_points: list[str]
    notices: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"wheel": self.wheel.__dict__, "data": [d.__dict__ for d in self.data],
                "lab_entry_points": self.lab_entry_points, "notices": self.notices}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_dataset(name: str, override: Path | None, notices: list[str]) -> tuple[bytes, str]:
    if override is not None:
        if not override.is_file():
            raise UsageError(f"{override} does not exist or is not a file.")
        return override.read_bytes(), str(override)
    url = DATASETS[name]
    try:
        with urllib.request.urlopen(url, timeout=15) as answer:  # noqa: S310 (a fixed https URL)
            return answer.read(), url
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        notices.append(f"Could not download the lab's {name} ({reason}); using labctl's own sample data instead. "
                       f"Pass --training-file/--validation-file to use local copies of the lab's datasets.")
        sample = importlib.resources.files("agent.data").joinpath("samples", SAMPLES[name])
        return sample.read_bytes(), f"labctl sample ({SAMPLES[name]})"


def check_dataset(content: bytes, source: str, option: str | None, purpose: str, base_model: str) -> None:
    """The fine-tuning checks Azure makes (labctl_labs.fine_tuning_data); the first errors as one sentence."""
    import io

    from labctl_labs.fine_tuning_data import validate_stream

    report = validate_stream(io.BytesIO(content), Path(source).name, purpose=purpose, model=base_model,
                             size=len(content))
    if report.errors:
        shown = "; ".join(" ".join(str(f).split()) for f in report.errors[:3])
        more = (f" (and {report.error_count - 3:,} more; `labctl validate` lists them)" if report.error_count > 3
                else "")
        where = f"{option} {source}" if option else f"the lab's {purpose} data ({source})"
        raise UsageError(f"{where} is not valid {purpose} data for fine-tuning {base_model}: {shown}{more}.")


def stage(stack: str, training: Path | None = None, validation: Path | None = None,
          progress: Callable[[str], None] = print) -> StageReport:
    outputs = StackOutputs.load(stack)
    notices: list[str] = []
    # The datasets first, checked as Azure will check them: bad data is refused before anything is uploaded.
    datasets = []
    for name, override, option in (("training_set.jsonl", training, "--training-file"),
                                   ("validation_set.jsonl", validation, "--validation-file")):
        content, source = fetch_dataset(name, override, notices)
        check_dataset(content, source, option if override is not None else None, name.split("_")[0],
                      outputs.fine_tune_base_model)
        datasets.append((name, content, source))
    _, w = stack_workspace.connect(stack, outputs, f"`labctl stage --stack {stack}` again")
    store = RemoteStore(w, outputs.data_path)
    journal = Journal(stack)
    previous = (journal.get(STAGE_ENTRY) or {}).get("data", {}).get("files", {})
    if journal.get(STAGE_ENTRY) is None:
        journal.begin("stage", {"files": {}}, entry_id=STAGE_ENTRY)

    def put(remote: str, data: bytes, source: str) -> StagedFile:
        digest = _sha256(data)
        unchanged = previous.get(remote) == digest and store.size(remote) == len(data)
        if unchanged:
            progress(f"unchanged: {remote}")
        else:
            progress(f"uploading {remote} ({len(data):,} bytes)")
            store.upload_bytes(remote, data)
        journal.update(STAGE_ENTRY, files={**(journal.get(STAGE_ENTRY)["data"]["files"]), remote: digest})
        return StagedFile(store.path(remote), digest, len(data), not unchanged, source)

    with tempfile.TemporaryDirectory() as folder:
        wheel_path = lab_artifact.build(Path(folder))
        wheel_bytes = wheel_path.read_bytes()
        entry_points = lab_artifact.entry_points(wheel_path)
        digest = _sha256(wheel_bytes)
        # A path per content: clusters cache libraries by path, so a new build must not reuse an old one.
        wheel = put(f"wheels/{digest[:12]}/{wheel_path.name}", wheel_bytes, "built from this checkout")
    data = []
    for name, content, source in datasets:
        data.append(put(f"data/{name}", content, source))
    journal.update(STAGE_ENTRY, status="done", wheel=wheel.remote, entry_points=entry_points,
                   datasets={d.remote.rsplit("/", 1)[1]: d.source for d in data})
    return StageReport(wheel, data, entry_points, notices)
