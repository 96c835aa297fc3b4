"""`labctl cleanup --config` with a malformed policy file, through the CLI: exit 2, one line on stderr naming the
file, the line and the key, no traceback, and nothing started or created (the file is read before anything else)."""

import pytest

from agent.cli import main
from tests.test_cleanup_policy import BAD_FILES


@pytest.mark.parametrize(("text", "message"), [(t, m) for _, t, m in BAD_FILES], ids=[k for k, _, _ in BAD_FILES])
def test_a_bad_policy_file_is_exit_2_and_one_line(tmp_path, monkeypatch, capsys, text, message):
    home = tmp_path / "home"
    monkeypatch.setenv("LABCTL_HOME", str(home))
    path = tmp_path / "cleanup.yaml"
    path.write_text(text)
    with pytest.raises(SystemExit) as exited:
        main(["cleanup", "--sandbox", "--yes", "--config", str(path)])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.replace("\n", " ").strip() == f"error: {path} {message}"  # one sentence (wrapped)
    assert "Traceback" not in captured.err
    assert not home.exists()  # no sandbox was started, nothing was written
