"""Bad options of `labctl class`: one sentence naming the option, exit 2, nothing created or asked of Azure."""

import pytest

CASES = [
    (["up", "--learners", "0"], "--learners 0 is not a number of learners (1 to 99)"),
    (["up", "--learners", "2", "--class", "Spring_2027"], "--class 'Spring_2027' is not a class name"),
    (["up", "--learners", "2", "--concurrency", "0"], "--concurrency 0 is not a number of learners at a time"),
    (["up", "--learners", "2", "--layout", "shared-workspace"], "--layout 'shared-workspace' is not one labctl builds"),
    (["up", "--learners", "2", "--region", "mars"], "mars"),
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
