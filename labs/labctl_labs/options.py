"""The lab options (`labctl run LAB -o key=value`) each lab understands, and their checks.

labctl checks every option against the lab's schema before it uploads or submits anything, so a wrong
value is one sentence and exit 2 on the user's machine, not a failed (and billed) run on the cluster.
Values arrive JSON-decoded (`-o samples=3` is the number 3, `-o samples=abc` the string "abc").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


TRAINING_TYPES = ("Standard", "GlobalStandard", "Developer")
REASONING_EFFORTS = ("minimal", "low", "medium", "high")
FINE_TUNED_SKUS = ("GlobalStandard", "Standard", "DeveloperTier")


class OptionError(ValueError):
    """One sentence naming the option, its value and what it must be."""


@dataclass(frozen=True)
class Option:
    check: Callable[[Any], bool]
    must_be: str


def _whole(low: int, high: int) -> Option:
    return Option(lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high,
                  f"a whole number from {low} to {high:,}")


def _number(low: float, high: float, *, open_low: bool = False) -> Option:
    def check(value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return (low < value if open_low else low <= value) and value <= high

    return Option(check, f"a number {'over' if open_low else 'from'} {low:g} {'and at most' if open_low else 'to'} {high:g}")


def _one_of(*values: str) -> Option:
    return Option(lambda v: v in values, "one of " + ", ".join(values))


def _text(limit: int = 10_000) -> Option:
    return Option(lambda v: isinstance(v, str) and 0 < len(v.strip()) and len(v) <= limit,
                  f"non-empty text (at most {limit:,} characters)")


def _text_list() -> Option:
    return Option(lambda v: isinstance(v, list) and 0 < len(v) <= 1000 and all(isinstance(p, str) and p.strip() for p in v),
                  "a JSON list of 1 to 1,000 non-empty strings, for example '[\"nurse\", \"pilot\"]'")


BOOL = Option(lambda v: isinstance(v, bool), "true or false")
TEMPERATURE = _number(0, 2)
SAMPLES = _whole(1, 10_000)
ALPHA = _number(0, 0.5, open_low=True)

SCHEMAS: dict[str, dict[str, Option]] = {
    "responsible-ai": {
        "professions": _text_list(), "samples": SAMPLES, "temperature": TEMPERATURE, "max_tokens": _whole(1, 100_000),
        "reasoning_effort": _one_of(*REASONING_EFFORTS), "concurrency": _whole(1, 256),
        "table": Option(lambda v: isinstance(v, str) and v.replace("_", "").isalnum(), "a table name (letters, digits, '_')"),
        "system_prompt": _text(), "mitigation": BOOL,
        # Statistics: "seed" is the lab's ten prompts once each; alpha is the family-wise false-flag rate.
        "preset": _one_of("default", "seed"), "alpha": ALPHA,
    },
    "fine-tuning": {
        "training_file": _text(1000), "validation_file": _text(1000), "base_model": _text(200),
        "training_type": _one_of(*TRAINING_TYPES), "seed": _whole(0, 2**31 - 1), "poll_seconds": _number(0, 3600, open_low=True),
        "new_job": BOOL, "n_epochs": _whole(1, 50), "suffix": _text(40),
        "ft_deployment": Option(lambda v: isinstance(v, str) and 0 < len(v) <= 64 and v[0].isalnum()
                                and all(c.isalnum() or c in "_.-" for c in v), "a deployment name (1-64 letters, digits, '_', '.', '-')"),
        "ft_sku": _one_of(*FINE_TUNED_SKUS), "ft_capacity": _whole(1, 10_000),
    },
    "llmops": {
        "prompts": _text_list(), "prompt_file": _text(1000), "samples": SAMPLES, "temperature": TEMPERATURE,
        "max_tokens": _whole(1, 100_000), "reasoning_effort": _one_of(*REASONING_EFFORTS), "baseline_run_id": _text(200),
        "stream": BOOL,
        "seed": _whole(0, 2**31 - 1),
    },
    "smoke": {},
}
COMMON = {"deployment"}  # chosen by labctl itself (which chat deployment of the stack)

# Options that name a file, and the lab that reads it. On the cluster the lab reads the file from the lab volume, by a
# path relative to the volume's root (README, "Lab options"). labctl takes the value as the user means it: a relative
# path, or an absolute one inside the volume (/Volumes/<catalog>/<schema>/<volume>/...), names a file in the volume;
# any other absolute path names a file on the user's machine, which labctl checks and uploads before the run.
FILE_OPTIONS = {"prompt_file": "llmops", "training_file": "fine-tuning", "validation_file": "fine-tuning"}


def local_file(value: str, volume_root: str) -> Path | None:
    """The local file an option's value names (an absolute path outside the lab volume), or None for a file in the
    volume. `volume_root`: /Volumes/<catalog>/<schema>/<volume>."""
    root = volume_root.rstrip("/") + "/"
    if not value.startswith("/") or value.startswith(root):
        return None
    return Path(value)


def in_volume(value: str, volume_root: str) -> str:
    """The path relative to the volume's root of a file option naming a file in the volume."""
    root = volume_root.rstrip("/") + "/"
    return value[len(root):] if value.startswith(root) else value


def check_options(labs: list[str], options: dict[str, Any], model: str, reasoning: bool | None = False) -> None:
    """Raise OptionError for the first option no chosen lab knows, or whose value the lab would refuse.
    `reasoning`: whether the deployment's model is a reasoning model, as the ARM model catalog says."""
    for key, value in options.items():
        if key in COMMON:
            continue
        owners = [lab for lab in labs if key in SCHEMAS.get(lab, {})]
        if not owners:
            known = sorted({k for lab in labs for k in SCHEMAS.get(lab, {})} | COMMON)
            raise OptionError(f"-o {key} is not an option of the {' or '.join(labs)} lab"
                              f"{'s' if len(labs) > 1 else ''}; "
                              f"{'its' if len(labs) == 1 else 'their'} options are {', '.join(known) or 'none'}.")
        option = SCHEMAS[owners[0]][key]
        if not option.check(value):
            raise OptionError(f"-o {key}={_show(value)} is not valid for the {owners[0]} lab: {key} is {option.must_be}.")
        if key == "temperature" and reasoning and value != 1:
            raise OptionError(f"-o temperature={_show(value)} is not valid for {model}: it is a reasoning model and takes "
                              f"only the default temperature 1.")
        if key == "temperature" and reasoning is None and value != 1:
            raise OptionError(f"-o temperature={_show(value)} cannot be honoured for {model}: the Azure model catalog "
                              f"does not say whether it is a reasoning model (which takes only temperature 1).")


def _show(value: Any) -> str:
    import json

    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."
