#!/usr/bin/env bash
# Drives the sandbox's Databricks twin with the legacy Databricks CLI (`databricks-cli` from PyPI, installed into a
# throwaway virtual environment, never a project dependency), as an instructor's older scripts would:
# `workspace ls`, `fs cp` both ways, `clusters list`, `runs list` (plus what they need: mkdirs, import, clusters
# create, runs submit of a Python file and of a notebook).
#
# Reaching the twin: the legacy CLI keeps only the scheme and host name of DATABRICKS_HOST (databricks_cli/sdk/
# api_client.py builds "%s://%s/api/" from urlparse(host).hostname), so it always calls port 443, while the twin
# listens on loopback ports it chooses. Rather than taking the machine's port 443 (privileged, and shared with
# whatever else runs here), the script runs the twin and the CLI together in a private network namespace
# (`unshare --net`; as a non-root user with `--map-root-user`), where the twin serves HTTPS on 443 of that
# namespace's own loopback and nothing outside can see it or clash with it. Needs util-linux `unshare`, `ip`.
#
# Usage: benchmarks/legacy_cli.sh            (prints each command and its output; exit 1 at the first failure)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLI_VERSION="0.18.0"  # the last release of the legacy CLI

if [[ "${1:-}" != "--inside" ]]; then
  # Outside the namespace: everything that needs the network (the project environment, the CLI from PyPI).
  source "$ROOT/scripts/bootstrap.sh"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  "${UV[@]}" venv --quiet --python 3.11 "$work/cli"
  "${UV[@]}" pip install --quiet --python "$work/cli/bin/python" "databricks-cli==$CLI_VERSION"
  flags=(--net)
  [[ "$(id -u)" == 0 ]] || flags+=(--map-root-user)
  status=0
  unshare "${flags[@]}" "$0" --inside "$work" || status=$?
  exit "$status"
fi

# Inside the private network namespace ---------------------------------------------------------------------------
work="$2"
python="$ROOT/.venv/bin/python"
ip link set lo up
"$ROOT/.venv/bin/labctl" sandbox serve --state-dir "$work/sandbox" --https-port 443 >"$work/serve.log" 2>&1 &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  [[ -s "$work/sandbox/endpoints.json" ]] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done

# A workspace of the twin: its token and the CA bundle that trusts the twin's certificate.
eval "$("$python" - "$work/sandbox/endpoints.json" <<'EOF'
import json, shlex, sys

import requests

endpoints = json.load(open(sys.argv[1]))
access = requests.post(f"{endpoints['data_url']}/_sandbox/databricks/workspaces", json={"name": "dbw-legacy-cli"},
                       timeout=30).json()
print(f"export DATABRICKS_HOST=https://127.0.0.1 DATABRICKS_TOKEN={shlex.quote(access['token'])} "
      f"REQUESTS_CA_BUNDLE={shlex.quote(access['ca_bundle'])}")
EOF
)"
export PATH="$work/cli/bin:$PATH" PYTHONWARNINGS="ignore::FutureWarning"  # urllib3 2 on the 2022 CLI
HOME_DIR="/Users/lab.user@sandbox.local"

run() {  # print the command, then its output
  echo "\$ $*"
  "$@"
  echo
}

json_field() {  # json_field <field> reads a JSON document on stdin
  "$python" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

echo "databricks-cli $(databricks --version | awk '{print $2}') against the twin at $DATABRICKS_HOST (port 443 of a private network namespace)"
echo

# Workspace
printf 'print("hello from a legacy-cli notebook")\ndbutils.notebook.exit("notebook done")\n' >"$work/hello_nb.py"
run databricks workspace mkdirs "$HOME_DIR/legacy"
run databricks workspace import --language PYTHON --format SOURCE "$work/hello_nb.py" "$HOME_DIR/legacy/hello_nb"
run databricks workspace ls --long "$HOME_DIR/legacy"
run databricks workspace ls /

# DBFS: a 3 MB file up (multipart put of small files, create/add-block/close above 2 MB) and back
head -c 3000000 /dev/urandom >"$work/data.bin"
printf 'import sys\nprint("hello from a legacy-cli run", sys.argv[1:])\n' >"$work/hello.py"
run databricks fs cp "$work/hello.py" dbfs:/FileStore/legacy/hello.py
run databricks fs cp "$work/data.bin" dbfs:/FileStore/legacy/data.bin
run databricks fs ls -l dbfs:/FileStore/legacy
run databricks fs cp dbfs:/FileStore/legacy/data.bin "$work/data.back"
run databricks fs cp dbfs:/FileStore/legacy/hello.py "$work/hello.back"
cmp "$work/data.bin" "$work/data.back" && cmp "$work/hello.py" "$work/hello.back"
echo "fs cp round trip: both files identical"
echo

# Clusters (2.0)
cluster_id="$(databricks clusters create --json '{"cluster_name": "legacy-cli", "spark_version": "16.4.x-cpu-ml-scala2.12",
  "node_type_id": "Standard_D4ds_v5", "num_workers": 0, "autotermination_minutes": 20,
  "spark_conf": {"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*]"},
  "custom_tags": {"ResourceClass": "SingleNode"}}' | json_field cluster_id)"
echo "created cluster $cluster_id"
run databricks clusters list

# Runs (Jobs 2.0 single-task bodies): a Python file from DBFS and the imported notebook
file_run="$(databricks runs submit --json "{\"run_name\": \"legacy-cli-file\", \"existing_cluster_id\": \"$cluster_id\",
  \"spark_python_task\": {\"python_file\": \"dbfs:/FileStore/legacy/hello.py\", \"parameters\": [\"a\", \"b\"]}}" | json_field run_id)"
notebook_run="$(databricks runs submit --json "{\"run_name\": \"legacy-cli-notebook\", \"existing_cluster_id\": \"$cluster_id\",
  \"notebook_task\": {\"notebook_path\": \"$HOME_DIR/legacy/hello_nb\"}}" | json_field run_id)"
for run_id in "$file_run" "$notebook_run"; do
  for _ in $(seq 1 600); do
    state="$(databricks runs get --run-id "$run_id" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["state"]["life_cycle_state"])')"
    [[ "$state" == TERMINATED || "$state" == INTERNAL_ERROR ]] && break
    sleep 0.5
  done
done
run databricks runs list
run databricks runs list --version=2.1
run databricks runs get-output --run-id "$file_run"   # a 2.0 single-task run answers for its own id
run databricks runs get-output --run-id "$notebook_run"
