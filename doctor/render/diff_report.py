"""``dl-doctor diff`` output: a table per section for people, Markdown for CI, JSON for machines."""

import json
from typing import Dict, List, Sequence

from doctor.diff import SECTIONS, Difference
from doctor.render.markdown import cell

ABSENT = "-"


def _by_section(differences: Sequence[Difference]) -> Dict[str, List[Difference]]:
    grouped: Dict[str, List[Difference]] = {}
    for difference in differences:
        grouped.setdefault(difference.section, []).append(difference)
    return {section: grouped[section] for section in SECTIONS if section in grouped}


def render_diff_text(differences: Sequence[Difference], label_a: str, label_b: str) -> str:
    from tabulate import tabulate

    if not differences:
        return "no differences between %s and %s\n" % (label_a, label_b)
    parts = ["A: %s\nB: %s" % (label_a, label_b)]
    for section, rows in _by_section(differences).items():
        table = tabulate([(d.name, d.a or ABSENT, d.b or ABSENT) for d in rows], headers=(section, "A", "B"))
        parts.append(table)
    parts.append("%d difference%s" % (len(differences), "" if len(differences) == 1 else "s"))
    return "\n\n".join(parts) + "\n"


def render_diff_markdown(differences: Sequence[Difference], label_a: str, label_b: str) -> str:
    lines = ["## dl-doctor diff", "", "A: **%s** · B: **%s**" % (cell(label_a), cell(label_b)), ""]
    if not differences:
        return "\n".join(lines + ["No differences.", ""])
    for section, rows in _by_section(differences).items():
        lines += ["| %s | A | B |" % section, "|---|---|---|"]
        lines += ["| `%s` | %s | %s |" % (cell(d.name), cell(d.a or ABSENT), cell(d.b or ABSENT)) for d in rows]
        lines.append("")
    return "\n".join(lines)


def render_diff_json(differences: Sequence[Difference], label_a: str, label_b: str) -> str:
    document = {"a": label_a, "b": label_b,
                "differences": [{"section": d.section, "name": d.name, "a": d.a, "b": d.b} for d in differences]}
    return json.dumps(document, indent=2) + "\n"
