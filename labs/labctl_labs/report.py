"""Self-contained HTML reports: a table of figures and matplotlib charts embedded as PNG data URIs,
so the file opens anywhere (a browser, a Databricks notebook cell, an e-mail) with nothing beside it."""

from __future__ import annotations

import base64
import html
import io


def figure_png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def new_figure(width: float = 8, height: float = 4):
    import matplotlib

    matplotlib.use("Agg")  # no display on a cluster or a CI machine
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def close(figure) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)


def table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, sections: list[str]) -> str:
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
             "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%}.flag{color:#b00;font-weight:bold}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{''.join(sections)}</body></html>")


def image(png_base64: str, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{png_base64}'>"
