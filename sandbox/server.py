"""Runs the sandbox on loopback: one HTTPS listener (ARM needs TLS for bearer tokens) and one plain
HTTP listener (Azure OpenAI data plane, Databricks, control), both serving the same application.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import uvicorn

from sandbox.app import build_app
from sandbox.config import SandboxConfig
from sandbox.faults import Faults
from sandbox.tls import make_tls
from sandbox.world import World

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Endpoints:
    """What a client needs to talk to a running sandbox (written to <state>/endpoints.json)."""

    arm_url: str
    data_url: str
    ca_file: str
    subscription_id: str
    tenant_id: str
    state_dir: str
    pid: int

    def control_url(self) -> str:
        return f"{self.data_url}/_sandbox"

    @classmethod
    def read(cls, state_dir: Path) -> Endpoints:
        return cls(**json.loads((state_dir / "endpoints.json").read_text()))


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class SandboxServer:
    def __init__(self, state_dir: Path, config: SandboxConfig | None = None, http_port: int = 0, https_port: int = 0):
        self.state_dir = Path(state_dir)
        self.world = World(config or SandboxConfig(), self.state_dir)
        self.faults = Faults()
        self._ports = (http_port, https_port)
        self._servers: list[uvicorn.Server] = []
        self._threads: list[threading.Thread] = []
        self.endpoints: Endpoints | None = None

    def start(self, timeout: float = 10.0) -> Endpoints:
        import os

        from sandbox import databricks_extension
        from sandbox.tokens import seed_tiktoken_cache

        seed_tiktoken_cache()  # usage is counted with tiktoken, which must not try to download its encodings
        self._sweep_earlier_workspaces()
        tls = make_tls(self.state_dir / "tls")
        databricks_extension.install(self.world, tls.ca)
        http_sock, https_sock = _bind(self._ports[0]), _bind(self._ports[1])
        data_url = f"http://{HOST}:{http_sock.getsockname()[1]}"
        arm_url = f"https://{HOST}:{https_sock.getsockname()[1]}"
        self.world.data_plane_url, self.world.arm_url = data_url, arm_url
        app = build_app(self.world, self.faults)
        for sock, tls_files in ((http_sock, None), (https_sock, tls)):
            config = uvicorn.Config(
                app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30,
                ssl_certfile=str(tls_files.cert) if tls_files else None,
                ssl_keyfile=str(tls_files.key) if tls_files else None,
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                                      name=f"sandbox-{'https' if tls_files else 'http'}")
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        deadline = time.monotonic() + timeout
        while not all(s.started for s in self._servers):
            if time.monotonic() > deadline or not all(t.is_alive() for t in self._threads):
                self.stop()
                raise RuntimeError("the sandbox did not start listening")
            time.sleep(0.01)
        self.endpoints = Endpoints(arm_url, data_url, str(tls.ca), self.world.config.subscription_id,
                                   self.world.config.tenant_id, str(self.state_dir), os.getpid())
        partial = self.state_dir / f".endpoints.json.{os.getpid()}"
        partial.write_text(json.dumps(asdict(self.endpoints), indent=2))
        os.replace(partial, self.state_dir / "endpoints.json")  # readers never see half a file
        return self.endpoints

    def _sweep_earlier_workspaces(self) -> None:
        """A sandbox keeps its workspaces in memory and their files on disk: the files an earlier sandbox of this
        state folder left belong to workspaces that exist no more, and go, as a deleted workspace's contents do
        ("Delete a workspace", Azure Databricks docs). Not while another live sandbox serves the folder."""
        import shutil

        if self._other_sandbox_alive():
            return
        workspaces = self.state_dir / "databricks"
        for folder in (workspaces.iterdir() if workspaces.is_dir() else []):
            shutil.rmtree(folder, ignore_errors=True)
        # The MLflow store every workspace shared before each had its own (sandbox.databricks.jobs).
        shutil.rmtree(self.state_dir / "mlflow", ignore_errors=True)

    def _other_sandbox_alive(self) -> bool:
        import os

        try:
            pid = int(json.loads((self.state_dir / "endpoints.json").read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if pid == os.getpid():  # this process's own earlier sandbox, stopped before this one starts
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # alive, someone else's
            return True
        return True

    def stop(self) -> None:
        registry = self.world.extensions.get("databricks")
        if registry is not None:
            for workspace in list(registry.workspaces.values()):
                registry.jobs.kill_all(workspace)
        for server in self._servers:
            server.should_exit = True
            server.force_exit = True  # do not wait for idle keep-alive connections of SDK clients
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
