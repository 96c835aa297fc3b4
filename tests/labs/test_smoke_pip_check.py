"""The smoke lab's `pip check`: a distribution whose requirement is missing is reported, a consistent environment
passes. Runs pip itself on a fresh virtual environment (python -m venv brings pip, offline)."""

from __future__ import annotations

import subprocess
import venv

from labctl_labs.smoke import pip_check


def test_pip_check_reports_a_broken_requirement_and_passes_a_consistent_environment(tmp_path):
    venv.create(tmp_path / "env", with_pip=True)
    python = str(tmp_path / "env" / "bin" / "python")
    assert pip_check(python)["ok"] is True
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    dist_info = tmp_path / "env" / site.split("/env/", 1)[1] / "needy-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: needy\nVersion: 1.0\n"
                                        "Requires-Dist: mlflow>=3.17\n")
    (dist_info / "RECORD").write_text("")
    broken = pip_check(python)
    assert broken["ok"] is False and "needy 1.0 requires mlflow" in broken["output"]
    # This interpreter (uv's, usually without pip) is unchecked or consistent, never broken.
    assert pip_check()["ok"] in (None, True)
