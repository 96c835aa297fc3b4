"""The Azure path of `up` and `down`, with a fake of Pulumi's Automation API at the module boundary
(agent.provision.cloud._auto). The Pulumi CLI cannot run here; everything around it is real."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.sandbox.conftest import sandbox  # noqa: F401  (fixture)

from agent.errors import LabctlError, UsageError
from agent.lifecycle import updown
from agent.provision import cloud
from agent.pulumi_mocks import run_with_mocks
from infra.config import read_pulumi_config
from infra.program import build_lab
from tests.infra.fake_azure import API_KEY, FakeAzure


class CommandError(Exception):
    pass


class ConcurrentUpdateError(CommandError):  # pulumi.automation.errors: a stack another update holds
    pass


class FakeStack:
    def __init__(self, name, behaviour):
        self.name, self.behaviour, self.config, self.destroyed = name, behaviour, {}, False

    def set_config(self, key, value):
        self.config[key] = value.value

    def remove_config(self, key):
        self.config.pop(key, None)

    def get_all_config(self):
        return {k: SimpleNamespace(value=v) for k, v in self.config.items()}

    def up(self, on_output):
        if self.behaviour.get("up_error"):
            raise CommandError("code: 255\n stdout: \n stderr: error: InsufficientQuota: no quota for gpt-5-mini")
        for line in ("Updating (dev):", " +  azure-native:resources:ResourceGroup lab-rg created", "Resources: 15 created"):
            on_output(line)
        config = {k: str(v) for k, v in self.config.items()}
        run = run_with_mocks(lambda: build_lab(read_pulumi_config(), self.name), FakeAzure(), project="labctl",
                             stack=self.name, config=config)
        outputs = {k: SimpleNamespace(value=v, secret=k in run.secret_outputs) for k, v in run.outputs.items()}
        return SimpleNamespace(outputs=outputs)

    def destroy(self, on_output, target=None, target_dependents=None):
        on_output("Destroying (dev):")
        self.behaviour.setdefault("destroy_calls", []).append(target)
        if target is not None:  # `pulumi destroy --target`: only those resources
            if self.behaviour.get("destroy_targets"):
                self.behaviour["destroy_targets"](target)
            return
        if self.behaviour.get("destroy"):
            self.behaviour["destroy"]()
        self.destroyed = True

    def export_stack(self):
        return SimpleNamespace(deployment={"resources": self.behaviour.get("resources", [])})


@pytest.fixture
def fake_auto(monkeypatch, tmp_path):
    monkeypatch.setenv("LABCTL_HOME", str(tmp_path / ".labctl"))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-passphrase")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.pulumi login
    calls = {"stacks": {}, "behaviour": {}}

    def create_or_select_stack(stack_name, work_dir, opts):
        if calls["behaviour"].get("no_cli"):
            raise FileNotFoundError("pulumi")
        calls.update(work_dir=work_dir, env=opts.env_vars)
        return calls["stacks"].setdefault(stack_name, FakeStack(stack_name, calls["behaviour"]))

    module = SimpleNamespace(
        create_or_select_stack=create_or_select_stack,
        LocalWorkspaceOptions=lambda env_vars=None: SimpleNamespace(env_vars=env_vars),
        ConfigValue=lambda value, secret=False: SimpleNamespace(value=value, secret=secret),
        errors=SimpleNamespace(CommandError=CommandError, ConcurrentUpdateError=ConcurrentUpdateError),
    )
    monkeypatch.setattr(cloud, "_auto", lambda: module)
    return calls


def test_up_runs_the_program_in_infra_with_the_given_config_and_keeps_no_key(fake_auto, tmp_path):
    lines = []
    outputs = updown.up("dev", False, ["owner=me@example.com", "location=swedencentral",
                                       "azure-native:subscriptionId=sub-123"], lines.append)
    stack = fake_auto["stacks"]["dev"]
    assert stack.config == {"labctl:owner": "me@example.com", "labctl:location": "swedencentral",
                            "azure-native:subscriptionId": "sub-123"}
    assert fake_auto["work_dir"] == str(cloud.PROJECT_ROOT) and (cloud.PROJECT_ROOT / "Pulumi.yaml").exists()
    assert fake_auto["env"]["PULUMI_BACKEND_URL"] == f"file://{tmp_path / '.labctl' / 'pulumi'}"
    assert lines[-1] == "Resources: 15 created"
    assert outputs.target == "cloud" and outputs.location == "swedencentral" and outputs.subscription_id == "sub-123"
    saved = (tmp_path / ".labctl" / "stacks" / "dev" / "outputs.json").read_text()
    assert API_KEY not in saved and "workspaceUrl" in saved


def test_a_missing_pulumi_cli_is_one_clear_sentence(fake_auto):
    fake_auto["behaviour"]["no_cli"] = True
    with pytest.raises(LabctlError, match=r"^The Pulumi CLI is not installed"):
        updown.up("dev", False, ["azure-native:subscriptionId=sub"], print)


def test_a_failed_pulumi_up_reports_pulumis_last_line(fake_auto):
    fake_auto["behaviour"]["up_error"] = True
    with pytest.raises(LabctlError, match="^Pulumi failed during pulumi up of stack .dev.: error: InsufficientQuota: no quota for gpt-5-mini; .*it resumes"):
        updown.up("dev", False, ["azure-native:subscriptionId=sub"], print)


def test_local_backend_without_passphrase_is_refused(fake_auto, monkeypatch):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    with pytest.raises(UsageError, match="set PULUMI_CONFIG_PASSPHRASE"):
        updown.up("dev", False, ["azure-native:subscriptionId=sub"], print)


def test_bad_config_option_names_the_option(fake_auto):
    with pytest.raises(UsageError, match="-c 'location' is not key=value"):
        updown.up("dev", False, ["location"], print)
    with pytest.raises(UsageError, match="labctl:ttl"):
        updown.up("dev", False, ["azure-native:subscriptionId=sub", "ttl=soon"], print)


def test_down_destroys_purges_and_verifies_through_arm(fake_auto, monkeypatch, sandbox):
    """Azure is played by the sandbox's ARM surface; the fake stack's destroy deletes the group as Pulumi would."""
    from agent.target import Target
    from sandbox.credentials import SandboxCredential
    from tests.sandbox.conftest import Lab

    Lab(sandbox)
    assert [(a["name"], a["resource_group"]) for a in sandbox.inventory()["accounts"]] == [("lab-aoai", "rg-lab")]
    target = Target("cloud", sandbox.sub, SandboxCredential(), sandbox.endpoints.arm_url, sandbox.endpoints.ca_file)
    target.save("dev")
    monkeypatch.setattr(updown, "load_target", lambda stack, start_sandbox=False: target)
    fake_auto["behaviour"]["resources"] = [{"type": "azure-native:cognitiveservices:Account",
                                            "inputs": {"resourceGroupName": "rg-lab"},
                                            "outputs": {"name": "lab-aoai", "location": "eastus2"}}]
    fake_auto["behaviour"]["destroy"] = lambda: sandbox.resources().resource_groups.begin_delete("rg-lab").result()
    report = updown.down("dev", print)
    assert fake_auto["stacks"]["dev"].destroyed
    assert report.clean and report.purged == ["lab-aoai"]
    after = sandbox.inventory()
    assert after["accounts"] == [] and after["deleted_accounts"] == [] and after["resource_groups"] == []


def test_preflight_on_azure_writes_its_choices_into_the_pulumi_stack_config(fake_auto, sandbox):
    """Azure's catalog is played by the sandbox's ARM surface; Pulumi by the fake Automation API."""
    from agent.lifecycle.preflight_step import PreflightOptions, preflight
    from sandbox.credentials import SandboxCredential
    from agent.target import Target

    target = Target("cloud", sandbox.sub, SandboxCredential(), sandbox.endpoints.arm_url, sandbox.endpoints.ca_file)
    result, _ = preflight(target, "dev", {}, PreflightOptions(regions=["swedencentral"]), print)
    written = fake_auto["stacks"]["dev"].config
    assert written["labctl:location"] == "swedencentral" == result.chosen.region
    assert '"version": "2025-08-07"' in written["labctl:deployments"]
    # The twin plays a subscription new to fine-tuning: the base it can train today, on a Foundry resource
    assert written["labctl:fineTuneBaseModel"] == "gpt-oss-20b-2025-08-05"
    assert written["labctl:aiResourceKind"] == "AIServices"
