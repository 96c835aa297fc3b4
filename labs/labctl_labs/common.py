"""What every lab workload shares: its parameters, the workspace, the OpenAI client built from the
secret scope, and where its results go. Runs on a Databricks cluster (and in the sandbox's), so it
imports only what the wheel brings: never pulumi, never the CLI.

A lab is started as a python_wheel_task with named parameters (`--key=value` in sys.argv):
  --results   folder for results, relative to --data (results/<stamp>/<lab>)
  --data      the lab's remote folder (/Volumes/<catalog>/<schema>/<volume> or dbfs:/...)
  --scope     secret scope; --endpoint-secret / --key-secret name the endpoint and key inside it
  --deployment, --model, --capacity   the chat deployment, its model, and its capacity (thousands of TPM)
  --options   a JSON object of lab-specific settings
The key is read from the scope on the cluster; it is never a parameter, never printed, never written.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labctl_labs.retrying import call, resilient
from labctl_labs.storage import RemoteStore

API_VERSION = "2025-04-01-preview"
REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4")


def is_reasoning(model: str) -> bool:
    return model.startswith(REASONING_PREFIXES)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="labctl-lab")
    parser.add_argument("--results", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--scope", required=True)
    parser.add_argument("--endpoint-secret", default="openai-endpoint")
    parser.add_argument("--key-secret", default="openai-key")
    parser.add_argument("--deployment", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--capacity", type=int, default=10)
    parser.add_argument("--options", default="{}")
    return parser.parse_args(argv)


@dataclass
class LabContext:
    args: argparse.Namespace
    workspace: Any
    store: RemoteStore
    options: dict

    @property
    def reasoning(self) -> bool:
        return is_reasoning(self.args.model)

    def secret(self, key: str) -> str:
        # dbutils has a Databricks client of its own, outside `resilient`, and databricks-sdk does not retry a 500.
        return call("Databricks dbutils.secrets.get", self.workspace.dbutils.secrets.get, scope=self.args.scope, key=key)

    def openai(self, **kwargs):
        from openai import AzureOpenAI

        return AzureOpenAI(azure_endpoint=self.secret(self.args.endpoint_secret),
                           api_key=self.secret(self.args.key_secret), api_version=API_VERSION, **kwargs)

    def save_json(self, name: str, data: Any) -> str:
        return self.store.upload_bytes(f"{self.args.results}/{name}", json.dumps(data, indent=2, default=str).encode())

    def save_bytes(self, name: str, data: bytes) -> str:
        return self.store.upload_bytes(f"{self.args.results}/{name}", data)


def run_lab(body: Callable[[LabContext], int | None], argv: list[str] | None = None) -> int:
    """Parse the parameters, connect to the workspace, run the lab; a lab returns its exit code."""
    from databricks.sdk import WorkspaceClient

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry full request URLs
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workspace = resilient(WorkspaceClient())  # its safe calls retried on transient faults
    context = LabContext(args, workspace, RemoteStore(workspace, args.data), json.loads(args.options))
    return body(context) or 0
