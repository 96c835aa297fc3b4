"""The class commands drive `labctl` as a user does, against the lifecycle tests' sandbox (one per session)."""

from tests.lifecycle.conftest import lab_home, labctl  # noqa: F401 - fixtures shared with the lifecycle tests
