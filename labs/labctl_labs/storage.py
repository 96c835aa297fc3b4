"""The lab's remote folder, a Unity Catalog volume (/Volumes/<catalog>/<schema>/<volume>), reached through
databricks-sdk's Files API so the same code runs on the cluster, in the sandbox and in labctl."""

from __future__ import annotations

import io
import posixpath
import re
from pathlib import Path
from typing import BinaryIO

from labctl_labs.retrying import cut, resilient, retrying

UPLOAD_ATTEMPTS = 3
VOLUME_PATH = re.compile(r"^/Volumes/(?P<catalog>[^/]+)/(?P<schema>[^/]+)/[^/]+")  # each part is already retried by the client; this covers the upload as a whole


def table_name(root: str, table: str) -> str:
    """`catalog.schema.table` in the lab's own schema, from its volume `root` (/Volumes/<catalog>/<schema>/<v>),
    each part back-quoted; `table` unchanged for any other root.

    Unqualified, a table lands in whatever the default catalog and schema are (`default`), which `down` never
    removes; in the lab's schema it goes with the schema (force_destroy)."""
    match = VOLUME_PATH.match(root)
    if match is None:
        return table
    return ".".join(f"`{part}`" for part in (match["catalog"], match["schema"], table))


class RemoteStore:
    def __init__(self, workspace, root: str):
        self.w = resilient(workspace)
        self.root = root.rstrip("/")

    def path(self, relative: str) -> str:
        return posixpath.join(self.root, relative.lstrip("/"))

    def upload(self, relative: str, stream: BinaryIO) -> str:
        target = self.path(relative)
        start = stream.tell() if stream.seekable() else None

        def once() -> None:
            if start is not None:
                stream.seek(start)
            self.w.files.upload(target, stream, overwrite=True)

        if start is None:  # a stream read once cannot be sent again
            once()
        else:
            # A refusal (a DatabricksError) was retried by the client already; a cut on the SDK's own sessions was not.
            retrying(f"Databricks upload of {target}", attempts=UPLOAD_ATTEMPTS, retry_on=cut)(once)
        return target

    def upload_bytes(self, relative: str, data: bytes) -> str:
        return self.upload(relative, io.BytesIO(data))

    def size(self, relative: str) -> int | None:
        from databricks.sdk.errors import NotFound

        try:
            return self.w.files.get_metadata(self.path(relative)).content_length
        except NotFound:
            return None

    def read(self, relative: str) -> bytes:
        def once() -> bytes:
            return self.w.files.download(self.path(relative)).contents.read()

        return retrying(f"Databricks download of {self.path(relative)}", retry_on=cut)(once)

    def list_files(self, relative: str) -> list[str]:
        """Every file below `relative`, as paths relative to it."""
        from databricks.sdk.errors import NotFound

        base = self.path(relative)
        found: list[str] = []

        def walk(folder: str) -> None:
            try:
                entries = [(e.path, e.is_directory) for e in self.w.files.list_directory_contents(folder)]
            except NotFound:
                return
            for path, is_dir in entries:
                path = path.rstrip("/")
                if not path.startswith("/"):
                    path = posixpath.join(folder, path)
                if is_dir:
                    walk(path)
                else:
                    found.append(posixpath.relpath(path, base))

        walk(base)
        return sorted(found)

    def download_tree(self, relative: str, destination: Path) -> list[Path]:
        written = []
        for name in self.list_files(relative):
            local = destination / name
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(self.read(posixpath.join(relative, name)))
            written.append(local)
        return written
