# Sourced by scripts/test and scripts/demo: create the project environment on a fresh machine.
# Needs only python3 (>= 3.11) with pip; everything else comes from the project's own files.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV_VERSION="0.13.8"

if command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  if ! python3 -m uv --version >/dev/null 2>&1; then
    echo "bootstrap: installing uv ${UV_VERSION} from PyPI" >&2
    python3 -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
  fi
  UV=(python3 -m uv)
fi

cd "$ROOT"
"${UV[@]}" sync --frozen --quiet

# Every labctl command, sandbox task and lab run is a Python process that imports mlflow, pyspark, the SDKs:
# with PYTHONDONTWRITEBYTECODE set (some images set it) each of them would compile those from source again.
unset PYTHONDONTWRITEBYTECODE

# tiktoken's encodings come from a package instead of the network; tiktoken checks their hashes.
export TIKTOKEN_CACHE_DIR="${TIKTOKEN_CACHE_DIR:-$ROOT/.cache/tiktoken}"
"${UV[@]}" run --frozen --quiet python -m agent.tiktoken_cache >&2

# Tests that build a fresh virtual environment (the lab artifact's import test) use the same uv.
export LABCTL_UV="${UV[*]}"
