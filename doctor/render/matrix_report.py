"""``dl-doctor matrix`` output: the merged table as Markdown (for a CI job summary), an HTML page, or JSON.

Rows that are ok on every leg are folded into one line, so the table shows where legs differ or fail.
"""

import json
from html import escape
from typing import Any, Dict, List, Optional

from doctor.findings import ERROR, WARNING
from doctor.matrix import Matrix, Row
from doctor.render.html import html_page, status_badge
from doctor.render.markdown import cell, mark
from doctor.report import REPORT_SCHEMA_VERSION, TOOL_NAME, Entry, OpResult

MATRIX_KIND = "matrix"


def _failures_text(column: str, failing: Dict[str, List[str]], warned: Dict[str, List[str]]) -> str:
    parts = []
    if failing[column]:
        parts.append("errors: " + ", ".join(failing[column]))
    if warned[column]:
        parts.append("warnings: " + ", ".join(warned[column]))
    return "; ".join(parts) or "nothing fails"


def _markdown_cell(case: Optional[Entry]) -> str:
    return "" if case is None else mark(case)


def render_matrix_markdown(matrix: Matrix) -> str:
    shown, quiet = matrix.split_rows()
    lines = ["## dl-doctor matrix: %d environment%s" % (len(matrix.columns), "" if len(matrix.columns) == 1 else "s"),
             ""]
    header = "| | %s |" % " | ".join(cell(column) for column in matrix.columns)
    lines += [header, "|---|%s" % ("---|" * len(matrix.columns))]
    section = None
    for row in shown:
        if row.section != section:
            section = row.section
            lines.append("| **%s** |%s" % (section, " |" * len(matrix.columns)))
        lines.append("| `%s` | %s |" % (cell(row.name), " | ".join(_markdown_cell(case) for case in row.cells)))
    if not shown:
        lines.append("| every check | %s |" % " | ".join("✅" for _ in matrix.columns))
    lines.append("")
    if quiet:
        lines += ["<details><summary>%d more rows read the same on every leg (all ok, all info or all skipped)"
                  "</summary>" % len(quiet), "",
                  ", ".join("`%s`" % cell(row.name) for row in quiet), "", "</details>", ""]
    failing, warned = matrix.failing((ERROR,)), matrix.failing((WARNING,))
    lines += ["### What fails where", ""]
    lines += ["- **%s**: %s" % (cell(column), cell(_failures_text(column, failing, warned)))
              for column in matrix.columns]
    lines += ["", "✅ ok · ℹ️ info · ⚠️ warning · ❌ error · 💥 crashed · ➖ skipped · empty: not run on that leg", ""]
    return "\n".join(lines)


def _html_cell(case: Optional[Entry]) -> str:
    if case is None:
        return '<td title="not run on this leg"></td>'
    return '<td style="text-align:center" title="%s">%s</td>' % (escape(case.title), status_badge(case.status,
                                                                                                   case.crashed))


def _html_row(row: Row) -> str:
    return "<tr><th style=\"text-align:left\"><code>%s</code></th>%s</tr>" % (
        escape(row.name), "".join(_html_cell(case) for case in row.cells))


def render_matrix_html(matrix: Matrix) -> str:
    shown, quiet = matrix.split_rows()
    body = ["<h2>dl-doctor matrix: %d environments</h2>" % len(matrix.columns),
            '<table style="border-collapse:collapse" border="1" cellpadding="4">',
            "<tr><th></th>%s</tr>" % "".join("<th>%s</th>" % escape(column) for column in matrix.columns)]
    section = None
    for row in shown + quiet:
        if row.section != section:
            section = row.section
            body.append('<tr><th colspan="%d" style="text-align:left">%s</th></tr>' % (len(matrix.columns) + 1,
                                                                                     escape(section)))
        body.append(_html_row(row))
    body.append("</table>")
    failing, warned = matrix.failing((ERROR,)), matrix.failing((WARNING,))
    body.append("<h3>What fails where</h3><ul>%s</ul>" % "".join(
        "<li><b>%s</b>: %s</li>" % (escape(column), escape(_failures_text(column, failing, warned)))
        for column in matrix.columns))
    return html_page("dl-doctor matrix", "\n".join(body))


def matrix_document(matrix: Matrix) -> Dict[str, Any]:
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "kind": MATRIX_KIND,
        "tool": {"name": TOOL_NAME},
        "columns": [{"label": label, "source": source, "environment": dict(environment), "summary": summary}
                    for label, source, environment, summary in zip(matrix.columns, matrix.sources,
                                                                    matrix.environments, matrix.summaries)],
        "rows": [{"section": row.section, "name": row.name,
                  "cells": [None if case is None else {"status": case.status, "title": case.title,
                                                       "crashed": case.crashed,
                                                       "result": case.result if isinstance(case, OpResult) else None}
                            for case in row.cells]}
                 for row in matrix.rows],
        "errors": matrix.failing((ERROR,)),
        "warnings": matrix.failing((WARNING,)),
    }


def render_matrix_json(matrix: Matrix) -> str:
    # Compact: a 200-leg matrix has tens of thousands of cells, and it is read by programs.
    return json.dumps(matrix_document(matrix), separators=(",", ":")) + "\n"
