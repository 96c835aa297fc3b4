"""Databricks notebook source in its wire formats: the SOURCE file (a header line, cells separated by
`COMMAND ----------` comments, markdown as `MAGIC` lines) and Jupyter's nbformat 4 JSON.

Source of the layout: Databricks, "Export and import Databricks notebooks"
(learn.microsoft.com/azure/databricks/notebooks/notebook-export-import) and an exported notebook's own text;
the `application/vnd.databricks.v1+notebook` metadata key is what Databricks writes into an exported .ipynb.
A notebook is stored by the twin as its SOURCE body without the header line."""

from __future__ import annotations

import json

from sandbox.errors import DatabricksError

COMMENT = {"PYTHON": "#", "R": "#", "SQL": "--", "SCALA": "//"}
EXTENSION = {"PYTHON": "py", "R": "r", "SQL": "sql", "SCALA": "scala"}
JUPYTER_LANGUAGE = {"python": "PYTHON", "r": "R", "sql": "SQL", "scala": "SCALA"}


def header(language: str) -> str:
    return f"{COMMENT.get(language, '#')} Databricks notebook source"


def separator(language: str) -> str:
    return f"{COMMENT.get(language, '#')} COMMAND ----------"


def has_header(content: bytes) -> bool:
    first = content.lstrip(b"\xef\xbb\xbf").lstrip().split(b"\n", 1)[0].strip()
    return first.endswith(b"Databricks notebook source")


def body_of_source(content: bytes) -> bytes:
    """The notebook's cells, without the header line if the content has one."""
    if not has_header(content):
        return content
    rest = content.lstrip(b"\xef\xbb\xbf").lstrip().split(b"\n", 1)
    return rest[1] if len(rest) > 1 else b""


def source_file(body: bytes, language: str) -> bytes:
    return header(language).encode() + b"\n" + body


def cells(body: str, language: str) -> list[str]:
    mark = separator(language)
    found, current = [], []
    for line in body.splitlines():
        if line.strip() == mark:
            found.append("\n".join(current).strip("\n"))
            current = []
        else:
            current.append(line)
    found.append("\n".join(current).strip("\n"))
    return [c for c in found if c.strip()]


def to_jupyter(body: bytes, language: str, name: str) -> bytes:
    """nbformat 4 JSON of a notebook: code cells, and `%md` MAGIC cells as markdown cells."""
    magic = f"{COMMENT.get(language, '#')} MAGIC"
    out = []
    for cell in cells(body.decode("utf-8", errors="replace"), language):
        lines = cell.splitlines()
        if lines and all(line.startswith(magic) for line in lines) and lines[0][len(magic):].strip().startswith("%md"):
            text = [line[len(magic):].removeprefix(" ") for line in lines]
            text[0] = text[0].removeprefix("%md").lstrip()
            out.append({"cell_type": "markdown", "metadata": {}, "source": "\n".join(text).strip("\n")})
        else:
            out.append({"cell_type": "code", "execution_count": 0, "metadata": {}, "outputs": [], "source": cell})
    notebook = {
        "cells": out,
        "metadata": {"application/vnd.databricks.v1+notebook": {"notebookName": name, "language": language.lower()},
                     "language_info": {"name": language.lower()}},
        "nbformat": 4, "nbformat_minor": 0,
    }
    return json.dumps(notebook, indent=1).encode()


def from_jupyter(content: bytes, path: str) -> tuple[bytes, str]:
    """(SOURCE body, language) of an .ipynb; a file that is not nbformat JSON is Databricks' 400."""
    try:
        notebook = json.loads(content.decode("utf-8-sig"))
        raw_cells = notebook["cells"]
        metadata = notebook.get("metadata") or {}
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise DatabricksError(400, "INVALID_PARAMETER_VALUE",
                              f"Unable to parse the content of {path} as a Jupyter notebook.") from None
    named = ((metadata.get("application/vnd.databricks.v1+notebook") or {}).get("language")
             or (metadata.get("language_info") or {}).get("name") or (metadata.get("kernelspec") or {}).get("language")
             or "python")
    language = JUPYTER_LANGUAGE.get(str(named).lower(), "PYTHON")
    comment = COMMENT[language]
    texts = []
    for cell in raw_cells:
        source = cell.get("source") or ""
        source = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "markdown":
            lines = ["%md", *source.splitlines()]
            source = "\n".join(f"{comment} MAGIC {line}".rstrip() for line in lines)
        texts.append(source.strip("\n"))
    body = f"\n\n{separator(language)}\n\n".join(texts) + "\n"
    return body.encode(), language
