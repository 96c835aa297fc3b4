"""Roster files: one e-mail per line; a bad line is named by file and line, exit 2, nothing created."""

import pytest

from agent.classroom.roster import numbered, read_roster
from agent.errors import UsageError


def test_a_roster_gives_each_learner_a_numbered_stack_and_their_identity(tmp_path):
    roster = tmp_path / "class.txt"
    roster.write_text("# spring cohort\nada@example.com\n\n  grace@example.org  \n", encoding="utf-8")
    learners = read_roster("ml", roster)
    assert [(learner.stack, learner.email) for learner in learners] == [
        ("ml-01", "ada@example.com"), ("ml-02", "grace@example.org")]


def test_numbered_learners_get_identities_from_a_user_pattern():
    # Hosted-lab tenants pre-create numbered users (labuser01@..., labuser02@...): learner n is the pattern with n.
    learners = numbered("ml", 3, "labuser{n:02d}@contoso.onmicrosoft.com")
    assert [(learner.stack, learner.email) for learner in learners] == [
        ("ml-01", "labuser01@contoso.onmicrosoft.com"), ("ml-02", "labuser02@contoso.onmicrosoft.com"),
        ("ml-03", "labuser03@contoso.onmicrosoft.com")]
    assert [learner.email for learner in numbered("ml", 2)] == [None, None]


@pytest.mark.parametrize(("pattern", "message"), [
    ("teacher@contoso.com", r"does not make 2 different e-mail addresses"),
    ("labuser{m}@contoso.com", r"is not a pattern with \{n\}"),
    ("labuser{n:02d}", r"does not make 2 different e-mail addresses"),
])
def test_a_user_pattern_that_makes_no_distinct_addresses_is_refused(pattern, message):
    with pytest.raises(UsageError, match=message):
        numbered("ml", 2, pattern)


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
