"""Pulumi entry point: read the stack config, build the lab, export its outputs."""

import sys
from pathlib import Path

# Pulumi puts infra/ itself on sys.path; the program imports itself as the `infra` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi  # noqa: E402

from infra.config import ConfigError, read_pulumi_config  # noqa: E402
from infra.program import build_lab  # noqa: E402

try:
    lab_config = read_pulumi_config()
except ConfigError as error:
    # RunError is shown to the user as its message alone, without a Python traceback.
    raise pulumi.RunError(str(error)) from None

for key, value in build_lab(lab_config, pulumi.get_stack()).items():
    pulumi.export(key, value)
