from __future__ import annotations

import os

import pytest

# Keep SDK auth predictable: nothing from the developer's environment or ~/.databrickscfg.
for _name in list(os.environ):
    if _name.startswith(("DATABRICKS_", "ARM_", "AZURE_", "OPENAI_")):
        del os.environ[_name]
os.environ["DATABRICKS_CONFIG_FILE"] = os.devnull
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def pytest_configure(config):
    # Token counting needs tiktoken's encodings, which must come from the package cache, not the network.
    from agent.tiktoken_cache import seed_cache

    seed_cache()
