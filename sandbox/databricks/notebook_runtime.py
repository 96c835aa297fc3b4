"""What a notebook finds predefined when a sandbox cluster runs it as a notebook_task: `spark` (created on first
use), `dbutils` with `widgets` answering the task's `base_parameters` and `notebook.exit` ending the notebook with
a result (runs/get-output `notebook_output.result`), and `display`. `dbutils.fs` and `dbutils.secrets` are
databricks-sdk's remote dbutils against the workspace.

Source of the behaviour: Databricks "Notebook task for jobs" (base parameters reach the notebook as widget
values, learn.microsoft.com/azure/databricks/jobs/notebook) and "Databricks Utilities" (widgets.get of an
undefined widget fails; notebook.exit(value) ends the run successfully with that value). Magic cells (`# MAGIC %sql`,
`%pip`, `%md`) are comments here: the sandbox runs the Python cells only."""

from __future__ import annotations

from pathlib import Path


class NotebookExit(BaseException):
    """Raised by dbutils.notebook.exit; the run ends successfully."""


class Widgets:
    def __init__(self, parameters: dict[str, str]):
        self._values = dict(parameters)

    def _define(self, name: str, default_value: str = "", *_, **__) -> None:
        self._values.setdefault(name, default_value)

    text = dropdown = combobox = multiselect = _define

    def get(self, name: str) -> str:
        if name not in self._values:
            raise ValueError(f"InputWidgetNotDefined: No input widget named {name} is defined")
        return self._values[name]

    getArgument = get

    def getAll(self) -> dict[str, str]:
        return dict(self._values)

    def remove(self, name: str) -> None:
        self._values.pop(name, None)

    def removeAll(self) -> None:
        self._values.clear()


class NotebookUtils:
    def __init__(self, result_file: Path):
        self._result_file = result_file

    def exit(self, value) -> None:
        self._result_file.write_text(str(value), encoding="utf-8")
        raise NotebookExit()


class DbUtils:
    def __init__(self, parameters: dict[str, str], result_file: Path):
        self.widgets = Widgets(parameters)
        self.notebook = NotebookUtils(result_file)
        self._remote = None

    def __getattr__(self, name: str):  # fs, secrets, ...: the SDK's dbutils against the workspace
        if name.startswith("_"):
            raise AttributeError(name)
        if self._remote is None:
            from databricks.sdk import WorkspaceClient

            self._remote = WorkspaceClient().dbutils
        return getattr(self._remote, name)


class LazySpark:
    """`spark`, created on first use (starting a JVM costs seconds a notebook without Spark should not pay)."""

    def __init__(self):
        self._session = None

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if self._session is None:
            from pyspark.sql import SparkSession

            self._session = SparkSession.builder.getOrCreate()
        return getattr(self._session, name)


def display(*values) -> None:
    for value in values:
        show = getattr(value, "show", None)
        show() if callable(show) else print(value)


def run_notebook(notebook_file: str, notebook_path: str, parameters: dict[str, str], result_file: str) -> None:
    """Execute the notebook's SOURCE body as one Python module named __main__."""
    source = Path(notebook_file).read_text(encoding="utf-8")
    scope = {"__name__": "__main__", "spark": LazySpark(), "dbutils": DbUtils(parameters, Path(result_file)),
             "display": display, "displayHTML": print}
    try:
        exec(compile(source, notebook_path, "exec"), scope)  # noqa: S102 - running the user's notebook is the point
    except NotebookExit:
        pass
