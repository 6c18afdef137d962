"""`dl-doctor list`: every check id with its topic and summary, as a table, JSON, or the Markdown table the
README's table of checks is held to (tests/test_registry.py)."""

import argparse
import json
from typing import Sequence, TextIO

from doctor.commands import EXIT_OK
from doctor.findings import topic_label
from doctor.registry import CheckSpec, registered_checks

MARKDOWN_HEADER = "| id | topic | what it checks |\n| --- | --- | --- |\n"


def render_markdown_table(checks: Sequence[CheckSpec]) -> str:
    """One row per check, in the README's columns (the README's third column may say more than the summary)."""
    rows = ["| `%s` | %s | %s |\n" % (spec.id, topic_label(spec.topic), spec.summary.replace("|", "\\|"))
            for spec in checks]
    return MARKDOWN_HEADER + "".join(rows)


def run_list(arguments: argparse.Namespace, stdout: TextIO) -> int:
    checks = registered_checks()
    if arguments.format == "json":
        # "category" is the name reports give a finding's topic.
        stdout.write(json.dumps([{"id": c.id, "category": c.topic, "summary": c.summary, "needs": list(c.needs),
                                  "suites": list(c.suites)} for c in checks], indent=2) + "\n")
        return EXIT_OK
    if arguments.format == "markdown":
        stdout.write(render_markdown_table(checks))
        return EXIT_OK
    from tabulate import tabulate

    rows = [(spec.id, topic_label(spec.topic), spec.summary) for spec in checks]
    stdout.write(tabulate(rows, headers=("id", "topic", "checks that")))
    stdout.write("\n")
    return EXIT_OK
