"""`dl-doctor list`: every check id with its topic and summary."""

import argparse
import json
from typing import TextIO

from doctor.commands import EXIT_OK


def run_list(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.registry import registered_checks

    checks = registered_checks()
    if arguments.format == "json":
        stdout.write(json.dumps([{"id": c.id, "category": c.category, "summary": c.summary, "needs": list(c.needs)}
                                 for c in checks], indent=2) + "\n")
        return EXIT_OK
    from tabulate import tabulate

    stdout.write(tabulate([(c.id, c.category, c.summary) for c in checks], headers=("id", "topic", "checks that")))
    stdout.write("\n")
    return EXIT_OK
