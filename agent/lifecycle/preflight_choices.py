"""Which of a stack's settings preflight chose, as opposed to the user, so that `down` can drop the choices.

Preflight writes its choices (region, model versions, fine-tune base, resource kind: `preflight_step.CHOSEN_KEYS`)
into the stack's config.json, where they keep a stack that is up where it is (a second `up` must not move it). Once
the stack is down they are stale: the next `up` re-checks quota and region availability anyway, and a choice left
in config.json would bind it as if the user had set it. Pulumi's own `destroy` keeps a stack's config (`stack rm`
removes it), so labctl keeps what the user set and drops only what preflight chose. The record is
`<stack>/preflight-choices.json`: {key: {"chosen": value preflight wrote, "user": the user's own value or null}}.
"""

from __future__ import annotations

from pathlib import Path

from agent.workdir import read_config, read_state, write_json

FILE = "preflight-choices.json"


def _read(folder: Path) -> dict:
    return read_state(folder / FILE, {}, lambda d: isinstance(d, dict) and all(
        isinstance(v, dict) and "chosen" in v and "user" in v for v in d.values()), "a record of preflight's choices")


def remember(folder: Path, before: dict, after: dict) -> None:
    """Record what preflight changed: `before` is the config preflight was given (the user's settings, plus choices
    an earlier preflight made), `after` the config with its choices applied."""
    from agent.lifecycle.preflight_step import CHOSEN_KEYS

    earlier = _read(folder)
    record = {}
    for key in CHOSEN_KEYS:
        if key not in after:
            continue
        user = before.get(key)
        if key in earlier and user == earlier[key]["chosen"]:
            user = earlier[key]["user"]  # what was configured was an earlier choice, not the user's
        if after[key] != user:
            record[key] = {"chosen": after[key], "user": user}
    write_json(folder / FILE, record)


def forget(folder: Path) -> dict[str, str | None]:
    """Take preflight's choices out of config.json (a user's own value comes back where preflight replaced it, and a
    setting changed since is left alone); returns {key: the value restored, or None where the key was dropped}."""
    record = _read(folder)
    if not record:
        (folder / FILE).unlink(missing_ok=True)
        return {}
    config = read_config(folder)
    changed: dict[str, str | None] = {}
    for key, choice in record.items():
        if config.get(key) != choice["chosen"]:
            continue
        if choice["user"] is None:
            config.pop(key)
        else:
            config[key] = choice["user"]
        changed[key] = choice["user"]
    write_json(folder / "config.json", config)
    (folder / FILE).unlink(missing_ok=True)
    return changed


def forget_in_pulumi(stack: str, changed: dict[str, str | None]) -> None:
    """The same in Pulumi's own stack config on Azure (`labctl up` and preflight write every setting there, and a
    choice left in it would drive the next `pulumi up` and any `labctl up` that no longer sets the key).
    Raises LabctlError when the Pulumi stack cannot be selected."""
    from agent.provision import cloud

    pulumi_stack = cloud.select_stack(stack)
    auto = cloud._auto()
    for key, value in changed.items():
        if value is None:
            pulumi_stack.remove_config(key)
        else:
            pulumi_stack.set_config(key, auto.ConfigValue(value=str(value), secret=False))
