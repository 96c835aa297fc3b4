"""`labctl class up` on a class that exists, with a -c value other than the class's: like `pulumi up` after
`pulumi config set`, the new value is applied to every learner's stack (the ready ones too); a setting the class was
planned into the quota by (region, models, VM size, ...) is refused in one sentence naming the option, nothing run."""

import json

from tests.classroom.test_class_partial_states import CHAT, _workspace


def test_a_resumed_class_applies_a_changed_setting_to_every_learner_and_refuses_a_planned_one(labctl):
    first = labctl.json("class", "up", "--sandbox", "--class", "cfg", "--learners", "1", "--no-notebooks",
                        "-c", CHAT, "-c", "autoterminationMinutes=20")
    assert first["ok"]
    cluster = labctl.json("status", "--stack", "cfg-01")["outputs"]["clusterId"]
    assert _workspace(labctl, "cfg-01").clusters.get(cluster).autotermination_minutes == 20

    resumed = labctl.json("class", "up", "--sandbox", "--class", "cfg", "--learners", "1", "--no-notebooks",
                          "-c", CHAT, "-c", "autoterminationMinutes=45")
    assert resumed["ok"] and resumed["plan"] == {"resumed": True, "applied": {"labctl:autoterminationMinutes": "45"}}
    # The ready learner's own cluster was updated in place (Databricks clusters/edit), not replaced.
    assert labctl.json("status", "--stack", "cfg-01")["outputs"]["clusterId"] == cluster
    assert _workspace(labctl, "cfg-01").clusters.get(cluster).autotermination_minutes == 45
    record = json.loads((labctl.home / ".labctl" / "classes" / "cfg" / "class.json").read_text())
    assert record["config"]["labctl:autoterminationMinutes"] == "45"

    # Resumed without -c: the class's settings as they are now, nothing undone.
    again = labctl.json("class", "up", "--sandbox", "--class", "cfg", "--learners", "1", "--no-notebooks")
    assert again["plan"] == {"resumed": True}
    assert _workspace(labctl, "cfg-01").clusters.get(cluster).autotermination_minutes == 45

    log = labctl.home / ".labctl" / "classes" / "cfg" / "logs" / "cfg-01.log"
    before = log.read_text()
    refused = labctl("class", "up", "--sandbox", "--class", "cfg", "--learners", "1", "-c", "location=westus3",
                     expect=2)
    sentence = " ".join(refused.stderr.split())
    assert "-c location=westus3: class 'cfg' was planned into the quota with no location" in sentence
    assert "leave -c location out to resume it" in sentence and "Traceback" not in refused.stderr
    assert log.read_text() == before  # no learner's `labctl up` was run

    assert labctl.json("class", "down", "--class", "cfg", "--yes")["clean"]
