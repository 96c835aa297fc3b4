"""`labctl sandbox serve`: starts in the foreground, prints how to reach it, stops cleanly on Ctrl-C."""

import json
import signal
import subprocess
import sys
import time

import requests


def test_serve_prints_endpoints_answers_and_stops_on_sigint(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-c", "from agent.cli import main; main()", "--json", "sandbox", "serve",
         "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "endpoints.json").exists():
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
            time.sleep(0.05)
        lines = []
        while not lines or lines[-1] != "}":
            lines.append(process.stdout.readline().rstrip("\n"))
        endpoints = json.loads("\n".join(lines))
        assert endpoints["arm_url"].startswith("https://127.0.0.1:")
        assert (tmp_path / "tls" / "ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
        health = requests.get(f"{endpoints['data_url']}/_sandbox/health", timeout=5).json()
        assert health == {"status": "ok", "subscription_id": endpoints["subscription_id"]}
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
