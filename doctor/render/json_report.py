"""The JSON report: the machine contract (``schema_version``), re-readable with ``--facts``."""

import json

from doctor.report import Report


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=False) + "\n"
