"""Roster files: one e-mail per line; a bad line is named by file and line, exit 2, nothing created."""

import pytest

from agent.classroom.roster import read_roster
from agent.errors import UsageError


def test_a_roster_gives_each_learner_a_numbered_stack_and_their_identity(tmp_path):
    roster = tmp_path / "class.txt"
    roster.write_text("# spring cohort\nada@example.com\n\n  grace@example.org  \n", encoding="utf-8")
    learners = read_roster("ml", roster)
    assert [(learner.stack, learner.email) for learner in learners] == [
        ("ml-01", "ada@example.com"), ("ml-02", "grace@example.org")]


@pytest.mark.parametrize(("text", "message"), [
    ("ada@example.com\nnot an address\n", r"class.txt, line 2: 'not an address' is not an e-mail address"),
    ("ada@example.com\n# x\nADA@example.com\n", r"class.txt, line 3: ADA@example.com is already on line 1"),
    ("# nobody yet\n\n", r"class.txt lists no learner"),
])
def test_bad_rosters_are_refused_naming_file_and_line(tmp_path, text, message):
    roster = tmp_path / "class.txt"
    roster.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        read_roster("ml", roster)


def test_a_bad_roster_through_the_cli_exits_2_and_creates_nothing(labctl, tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_bytes(b"ada@example.com\nbob@example\n")
    before = labctl.control("GET", "/inventory")
    done = labctl("class", "up", "--sandbox", "--class", "bad", "--roster", str(roster), expect=2)
    assert f"{roster}, line 2: 'bob@example' is not an e-mail address" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (labctl.home / ".labctl" / "classes" / "bad").exists()
    assert labctl.control("GET", "/inventory") == before
    missing = labctl("class", "up", "--sandbox", "--class", "bad", "--roster", str(tmp_path / "nope.txt"), expect=2)
    assert "nope.txt does not exist" in missing.stderr
    both = labctl("class", "up", "--sandbox", "--learners", "2", "--roster", str(roster), expect=2)
    assert "either --learners N or --roster FILE" in both.stderr
