"""What `labctl run` needs in the lab volume, checked before anything is submitted, and staged again when missing.

The journal's `stage` entry says what `labctl stage` put in the volume (`files`: path relative to the stack's
`dataPath` -> SHA-256; `datasets`: file name -> where its content came from). The volume can forget them while the
journal does not: a sandbox restarted (its workspaces are new and empty), or someone deleted the files in the
portal. A run submitted then fails on the cluster ("Library file ... does not exist"), and with a cluster library
the failure stays on the cluster until it restarts. So `run` looks first (one Files API HEAD per file) and stages
again (`agent.lifecycle.stage`, which skips what is unchanged), or says in one sentence what to run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.errors import LabctlError, UsageError
from agent.journal import Journal
from agent.lifecycle.stage import DATASETS, STAGE_ENTRY
from labctl_labs.storage import RemoteStore

# The fine-tuning lab reads the staged datasets unless -o training_file/validation_file name others
# (checked by run.check_remote_files).
DATASET_OPTIONS = {"training_set.jsonl": "training_file", "validation_set.jsonl": "validation_file"}


def needed(staged: dict, root: str, labs: list[str], options: dict) -> list[str]:
    """The staged files (relative to the volume's `root`) that these labs read: the lab wheel staged last (runs
    attach it) always, the datasets when the fine-tuning lab runs on them."""
    files = staged["data"].get("files", {})
    wanted = [staged["data"]["wheel"].removeprefix(root.rstrip("/") + "/")]
    if "fine-tuning" in labs:
        wanted += [f"data/{name}" for name, option in DATASET_OPTIONS.items()
                   if option not in options and f"data/{name}" in files]
    return wanted


def missing(store: RemoteStore, files: list[str]) -> list[str]:
    return [f for f in files if store.size(f) is None]


def ensure(stack: str, store: RemoteStore, journal: Journal, labs: list[str], options: dict,
           progress: Callable[[str], None]) -> dict:
    """The journal's stage entry, after making sure every file the labs need is in the volume.

    Raises LabctlError (one sentence naming `labctl stage --stack <stack>`) when a file is missing and labctl
    cannot stage it again by itself: a dataset staged from a local file that is no longer there, or a stage that
    fails (its own sentence, exit code kept)."""
    staged = journal.get(STAGE_ENTRY)
    gone = missing(store, needed(staged, store.root, labs, options))
    if not gone:
        return staged
    shown = ", ".join(store.path(f) for f in gone)
    overrides = {}
    for name, source in (staged["data"].get("datasets") or {}).items():
        local = _local_source(source)
        if local is not None and not local.is_file():
            raise UsageError(f"{shown} {'is' if len(gone) == 1 else 'are'} no longer in stack {stack!r}'s lab volume, "
                             f"and its {name} was staged from {source}, which no longer exists; run `labctl stage "
                             f"--stack {stack} --{DATASET_OPTIONS[name].replace('_', '-')} <file>` first.")
        overrides[name] = local
    progress(f"not in the lab volume any more: {shown}; staging again (unchanged files are skipped)")
    from agent.lifecycle.stage import stage

    try:
        stage(stack, overrides.get("training_set.jsonl"), overrides.get("validation_set.jsonl"), progress)
    except LabctlError as error:
        raise LabctlError(f"{shown} {'is' if len(gone) == 1 else 'are'} no longer in stack {stack!r}'s lab volume and "
                          f"staging again failed ({error.message.rstrip('.')}); run `labctl stage --stack {stack}`.",
                          error.exit_code) from None
    staged = journal.get(STAGE_ENTRY)
    still = missing(store, needed(staged, store.root, labs, options))
    if still:  # pragma: no cover - the stage that just uploaded them would have failed
        raise LabctlError(f"{', '.join(store.path(f) for f in still)} could not be staged in stack {stack!r}'s lab "
                          f"volume; run `labctl stage --stack {stack}`.")
    return staged


def _local_source(source: str) -> Path | None:
    """The local file a dataset was staged from, or None (a URL, or labctl's own sample data)."""
    if source in DATASETS.values() or source.startswith(("http://", "https://", "labctl sample")):
        return None
    return Path(source)
