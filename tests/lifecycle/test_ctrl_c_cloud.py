"""Ctrl-C during `labctl up` on Azure, where the Automation API runs the Pulumi CLI as a child process, and the
lock a stopped update can leave. The Pulumi CLI cannot run here: a stand-in named `pulumi` answers SIGINT as the CLI
does (pulumi/pulumi's cancellation scope: "^C received; cancelling. If you would like to terminate immediately, press
^C again.", then the update ends with an error), around the fake Automation API of test_cloud_path.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from agent.errors import INTERRUPTED, UNAVAILABLE, Interrupted, LabctlError
from agent.lifecycle import updown
from agent.provision import cloud
from tests.lifecycle.test_cloud_path import CommandError, ConcurrentUpdateError, FakeStack, fake_auto  # noqa: F401

STAND_IN = textwrap.dedent("""\
    import signal, sys, time
    def cancel(*_):
        print("^C received; cancelling. If you would like to terminate immediately, press ^C again.", flush=True)
        print("error: update canceled", file=sys.stderr, flush=True)
        sys.exit(255)
    signal.signal(signal.SIGINT, cancel)
    print("Updating (dev):", flush=True)
    time.sleep(120)  # an update that would go on, were it not cancelled
    print("Resources: 15 created", flush=True)
""")


@pytest.fixture
def pulumi_stand_in(tmp_path):
    path = tmp_path / "bin" / "pulumi"
    path.parent.mkdir()
    path.write_text(f"#!{sys.executable}\n{STAND_IN}")
    path.chmod(0o755)
    return path


def test_ctrl_c_sent_to_labctl_alone_cancels_the_pulumi_update_and_says_how_to_resume(fake_auto, pulumi_stand_in,
                                                                                       monkeypatch):
    # `kill -INT <labctl>` (not a keyboard Ctrl-C, which the terminal sends to the CLI as well): labctl passes it on.
    monkeypatch.setattr(cloud, "_from_terminal", lambda: False)
    seen = []

    def up(stack, on_output):
        with subprocess.Popen([str(pulumi_stand_in)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as cli:
            for line in cli.stdout:
                on_output(line.rstrip())
                if line.startswith("Updating"):
                    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C once the update is under way
            if cli.wait() != 0:
                raise CommandError(f"code: 255\n stdout: \n stderr: {cli.stderr.read()}")
        return None

    monkeypatch.setattr(FakeStack, "up", up)
    with pytest.raises(Interrupted) as stopped:
        updown.up("dev", False, ["azure-native:subscriptionId=sub"], seen.append)
    assert stopped.value.exit_code == INTERRUPTED
    assert stopped.value.message == ("Interrupted `labctl up` of stack 'dev': Pulumi finished the operations in flight, "
                                     "started nothing new and released the stack; `labctl up --stack dev` resumes "
                                     "where it stopped.")
    assert "Resources: 15 created" not in seen  # the CLI was cancelled, not left to finish
    assert any(line.startswith("^C received; cancelling") for line in seen), seen
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # labctl's handler is gone afterwards


def test_a_locked_stack_names_its_holder_and_pulumi_cancel(fake_auto, monkeypatch, tmp_path):
    # Pulumi's refusal as a DIY backend prints it (pulumi/pulumi#9253; text as reported in DefangLabs/defang#385).
    refusal = ("code: 255\n stdout: \n stderr: error: the stack is currently locked by 1 lock(s). Either wait for the "
               "other process(es) to end or delete the lock file with `pulumi cancel`.\n  file:///x/.pulumi/locks/"
               "organization/labctl/dev/ec3a6b52.json: created by ada@lab-host (pid 478) at 2026-11-30T20:31:35Z")

    def up(self, on_output):
        raise ConcurrentUpdateError(refusal)

    monkeypatch.setattr(FakeStack, "up", up)
    with pytest.raises(LabctlError) as refused:
        updown.up("dev", False, ["azure-native:subscriptionId=sub"], print)
    assert refused.value.exit_code == UNAVAILABLE
    message = refused.value.message
    assert message.startswith("Stack 'dev' is locked by another Pulumi update (its lock was taken by ada@lab-host "
                              "(pid 478) at 2026-11-30T20:31:35Z): wait for it to end;"), message
    backend = f"file://{tmp_path / '.labctl' / 'pulumi'}"
    assert f"`PULUMI_BACKEND_URL={backend} pulumi cancel --yes --stack dev --cwd {cloud.PROJECT_ROOT}` releases it, " \
           f"then `labctl up --stack dev` resumes" in message
    assert "\n" not in message
