"""tiktoken works with no network once the cache is seeded, and still refuses a corrupted file."""

import pytest
import tiktoken
import tiktoken.load

from agent.tiktoken_cache import ENCODINGS, cache_path, seed_cache


def test_seeded_cache_loads_both_encodings_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(tiktoken.load, "read_file", _no_network)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    seed_cache(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(cache_path(tmp_path, n).name for n in ENCODINGS)
    for name in ENCODINGS:
        encoding = tiktoken.get_encoding(name)
        tokens = encoding.encode("Describe a nurse.")
        assert len(tokens) == 4
        assert encoding.decode(tokens) == "Describe a nurse."
    assert tiktoken.get_encoding("o200k_base").n_vocab > 200_000 > tiktoken.get_encoding("cl100k_base").n_vocab > 100_000


def test_a_corrupted_cache_file_is_rejected_by_tiktokens_hash_check(tmp_path, monkeypatch):
    monkeypatch.setattr(tiktoken.load, "read_file", _no_network)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    cache_path(tmp_path, "o200k_base").write_bytes(b"not a BPE file")
    seed_cache(tmp_path)  # leaves an existing file alone: tiktoken checks it when it loads it
    with pytest.raises(ConnectionError):
        tiktoken.get_encoding("o200k_base")  # hash mismatch: tiktoken refuses it and tries to download
    assert not cache_path(tmp_path, "o200k_base").exists()  # tiktoken deleted it; the next seed restores it
    seed_cache(tmp_path)
    assert tiktoken.get_encoding("o200k_base").name == "o200k_base"


def _no_network(url):
    raise ConnectionError(f"no network in tests: {url}")
