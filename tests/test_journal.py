"""The journal: entries survive a reload, and every write holds the portable file lock."""

from __future__ import annotations

import filelock
import pytest

from agent.journal import Journal


def test_entries_are_written_updated_and_removed(tmp_path):
    journal = Journal("unused", folder=tmp_path)
    entry = journal.begin("run", {"lab": "smoke"})
    journal.update(entry["id"], status="submitted", run_id=7)
    reloaded = Journal("unused", folder=tmp_path)
    assert reloaded.get(entry["id"])["data"] == {"lab": "smoke", "run_id": 7}
    assert [e["id"] for e in reloaded.entries("run", "submitted")] == [entry["id"]]
    assert reloaded.entries("run", "started") == []
    reloaded.remove(entry["id"])
    assert journal.get(entry["id"]) is None


def test_a_write_holds_the_lock_that_other_writers_wait_for(tmp_path):
    journal = Journal("unused", folder=tmp_path)
    with journal._locked() as data:
        with pytest.raises(filelock.Timeout):  # another writer (another process) cannot take it meanwhile
            filelock.FileLock(journal._lock_path, timeout=0).acquire()
        data["entries"]["x"] = {"id": "x", "kind": "run", "status": "started", "data": {}}
    with filelock.FileLock(journal._lock_path, timeout=0):  # released afterwards
        pass
    assert journal.get("x")["status"] == "started"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".journal.json.")] == []  # no temporary left
