"""User-facing failures: one sentence, what to do next, and a documented exit code."""

from __future__ import annotations

# Exit codes of every labctl command (documented in README.md).
OK = 0
FAILED = 1  # the operation ran and failed (a lab run FAILED, resources left behind, ...)
USAGE = 2  # bad option, file or configuration
UNAVAILABLE = 3  # a service could not be reached or refused (auth, quota, region)
FINE_TUNING_UNAVAILABLE = 4  # the fine-tuning lab validated the data but cannot fine-tune here


class LabctlError(Exception):
    def __init__(self, message: str, exit_code: int = FAILED):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(LabctlError):
    def __init__(self, message: str):
        super().__init__(message, USAGE)
