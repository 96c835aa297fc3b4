"""labctl: stand up, run, report and tear down the Azure Databricks + Azure OpenAI AI labs."""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agent.errors import LabctlError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Stand up, run, report and tear down the Azure Databricks + Azure OpenAI AI labs.")
sandbox_app = typer.Typer(no_args_is_help=True, help="The offline twin of Azure OpenAI, ARM and Databricks.")
app.add_typer(sandbox_app, name="sandbox")

console = Console(stderr=True)
out = Console(soft_wrap=True)


class State:
    json = False
    verbose = False


@app.callback()
def main_options(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Debug logs on stderr.")] = False,
):
    State.json, State.verbose = json_output, verbose
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def emit(data: dict, human: str | None = None) -> None:
    if State.json:
        out.print_json(json.dumps(data, default=str))
    elif human is not None:
        out.print(human)


DEFAULT_SANDBOX_DIR = Path(".labctl") / "sandbox"


@sandbox_app.command("serve")
def sandbox_serve(
    state_dir: Annotated[Path, typer.Option(help="Where the sandbox keeps files, certificates and endpoints.json.")] = DEFAULT_SANDBOX_DIR,
    http_port: Annotated[int, typer.Option(help="Port of the plain HTTP listener (0 = any free port).")] = 0,
    https_port: Annotated[int, typer.Option(help="Port of the HTTPS (ARM) listener (0 = any free port).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic model.")] = 105,
):
    """Run the sandbox in the foreground until Ctrl-C, and print how to reach it."""
    from agent.sandbox.config import SandboxConfig
    from agent.sandbox.server import SandboxServer
    from agent.sandbox.synthetic_model import SyntheticModelConfig

    server = SandboxServer(state_dir.resolve(), SandboxConfig(seed=seed, model=SyntheticModelConfig(seed=seed)),
                           http_port=http_port, https_port=https_port)
    try:
        endpoints = server.start()
    except OSError as error:
        raise LabctlError(f"The sandbox could not listen ({error.strerror}); choose other ports with --http-port/--https-port.", 3) from None
    emit(endpoints.__dict__, _describe(endpoints))
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()


def _describe(endpoints) -> str:
    return "\n".join([
        "[bold]labctl sandbox[/bold] is listening on loopback. Press Ctrl-C to stop.",
        f"  ARM (azure-mgmt-*)      {endpoints.arm_url}   base_url=..., connection_verify={endpoints.ca_file}",
        f"  subscription / tenant   {endpoints.subscription_id} / {endpoints.tenant_id}",
        f"  Azure OpenAI endpoint   {endpoints.data_url}/aoai/<account>/   (AzureOpenAI azure_endpoint; v1: .../openai/v1/)",
        f"  control                 {endpoints.data_url}/_sandbox/   (inventory, faults, clock, model)",
        "  credentials             bearer tokens from agent.sandbox.credentials.SandboxCredential;",
        "                          account keys from ARM listKeys",
        f"  endpoints file          {endpoints.state_dir}/endpoints.json",
    ])


def main() -> None:
    try:
        app()
    except LabctlError as error:
        console.print(f"[red]error:[/red] {error.message}", soft_wrap=True)
        raise SystemExit(error.exit_code) from None
    except KeyboardInterrupt:
        console.print("aborted")
        raise SystemExit(130) from None
