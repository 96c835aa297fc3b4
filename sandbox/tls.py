"""A local certificate authority for the sandbox's HTTPS listener.

azure-core refuses to send bearer tokens over plain http, so the ARM surface is served over TLS with
a certificate for 127.0.0.1/localhost from a CA made by `trustme`. Clients trust it by passing the CA
file: `connection_verify=<state>/ca.pem` for the Azure SDKs (or REQUESTS_CA_BUNDLE).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls(folder: Path) -> TlsFiles:
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    if all(p.exists() for p in (files.ca, files.cert, files.key)):
        return files
    authority = trustme.CA(organization_name="labctl sandbox")
    server = authority.issue_cert("127.0.0.1", "localhost")
    authority.cert_pem.write_to_path(str(files.ca))
    server.private_key_pem.write_to_path(str(files.key))
    with files.cert.open("wb") as out:
        for blob in server.cert_chain_pems:
            out.write(blob.bytes())
    files.key.chmod(0o600)
    return files
