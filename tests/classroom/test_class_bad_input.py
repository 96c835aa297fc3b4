"""Bad options of `labctl class`: one sentence naming the option, exit 2, nothing created or asked of Azure."""

import pytest

CASES = [
    (["up", "--learners", "0"], "--learners 0 is not a number of learners (1 to 99)"),
    (["up", "--learners", "2", "--class", "Spring_2027"], "--class 'Spring_2027' is not a class name"),
    (["up", "--learners", "2", "--concurrency", "0"], "--concurrency 0 is not a number of learners at a time"),
    (["up", "--learners", "2", "--layout", "shared-workspace"], "--layout 'shared-workspace' is not one labctl builds"),
    (["up", "--learners", "2", "--region", "mars"], "mars"),
    (["up", "--learners", "2", "-c", 'deployments=[{"name":"chat","model":"gpt-9","capacity":10}]'],
     "labctl:deployments gpt-9: no such model is offered in eastus2"),
    (["up", "--learners", "2", "-c", "ttl=8 hours"], "ttl"),
    (["up"], "Give either --learners N or --roster FILE"),
    (["down", "--class", "nobody"], "pass --yes to confirm"),
    (["status", "--class", "nobody"], "There is no class 'nobody' here"),
    (["reset", "3", "--class", "nobody", "--yes"], "There is no class 'nobody' here"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_class_options_are_one_sentence_and_exit_2(labctl, args, message):
    before = labctl.control("GET", "/inventory")
    done = labctl("class", *args, *(["--sandbox"] if args[0] == "up" else []), expect=2)
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("error:") == 1
    assert labctl.control("GET", "/inventory") == before
    assert not (labctl.home / ".labctl" / "classes" / "nobody").exists()


def test_a_numbered_class_on_azure_needs_an_owner_before_anything_is_asked(labctl):
    done = labctl("class", "up", "--learners", "2", expect=2)
    assert "needs -c owner=<e-mail of the instructor>" in done.stderr


def test_a_damaged_class_record_is_named_by_status_and_set_aside_by_down(labctl):
    folder = labctl.home / ".labctl" / "classes" / "junk"
    folder.mkdir(parents=True)
    (folder / "class.json").write_text('{"learners": ', encoding="utf-8")
    status = labctl("class", "status", "--class", "junk", expect=2)
    assert f"{folder / 'class.json'} is not valid JSON (line 1)" in status.stderr
    down = labctl("class", "down", "--class", "junk", "--yes")
    assert "class.json was unreadable, moved to class.json.damaged-" in down.stderr
    assert not (folder / "class.json").exists() and list(folder.glob("class.json.damaged-*"))
