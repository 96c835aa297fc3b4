"""What a sandbox cluster runs for one task: a Python file or a wheel's entry point, with parameters
passed as Databricks passes them (sys.argv), or a workspace notebook (base parameters as widgets), and a failure recorded as error + error_trace.

Run as `python -m sandbox.databricks.task_entry <task.json>` by the sandbox; not for users.
"""

from __future__ import annotations

import configparser
import importlib
import json
import re
import runpy
import sys
import traceback
from pathlib import Path


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _wheel_callable(package_name: str, entry_point: str, lib_dirs: list[str]):
    """The entry point named in the wheel's metadata, else `<package>.<entry_point>` (Databricks' fallback)."""
    for folder in lib_dirs:
        for dist_info in Path(folder).glob("*.dist-info"):
            if _normalise(dist_info.name.split("-")[0]) != _normalise(package_name):
                continue
            points = dist_info / "entry_points.txt"
            if not points.exists():
                continue
            parser = configparser.ConfigParser(delimiters=("=",))
            parser.optionxform = str
            parser.read(points)
            for section in parser.sections():
                if entry_point in parser[section]:
                    module, _, attribute = parser[section][entry_point].strip().partition(":")
                    target = importlib.import_module(module.strip())
                    for part in attribute.strip().split("."):
                        target = getattr(target, part)
                    return target
    module = importlib.import_module(package_name)
    return getattr(module, entry_point)


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    for folder in reversed(spec["lib_dirs"]):
        sys.path.insert(0, folder)
    try:
        if spec.get("uc_schemas") is not None:
            from sandbox.databricks import uc_tables

            uc_tables.install(spec["uc_schemas"])
        if spec["kind"] == "python_file":
            sys.argv = [spec["python_file"], *spec["parameters"]]
            runpy.run_path(spec["python_file"], run_name="__main__")
        elif spec["kind"] == "notebook":
            from sandbox.databricks.notebook_runtime import run_notebook

            sys.argv = [spec["notebook_path"]]
            run_notebook(spec["notebook_file"], spec["notebook_path"], spec["base_parameters"], spec["result_file"])
        else:
            named = [f"--{key}={value}" for key, value in spec["named_parameters"].items()]
            sys.argv = [spec["package_name"], *spec["parameters"], *named]
            _wheel_callable(spec["package_name"], spec["entry_point"], spec["lib_dirs"])()
    except SystemExit as done:
        if done.code in (None, 0):
            return 0
        _record(spec, done, traceback.format_exc())
        return done.code if isinstance(done.code, int) else 1
    except BaseException as error:  # noqa: BLE001 - every failure of the task is reported as the run's error
        trace = traceback.format_exc()
        sys.stderr.write(trace)
        _record(spec, error, trace)
        return 1
    return 0


def _record(spec: dict, error: BaseException, trace: str) -> None:
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    Path(spec["error_file"]).write_text(json.dumps({"error": message, "error_trace": trace}))


if __name__ == "__main__":
    code = main(sys.argv[1])
    sys.stdout.flush()
    sys.stderr.flush()
    raise SystemExit(code)
