"""Merging the reports of a CI matrix: environments are columns, checks and probed ops are rows.

A check id or op name that a leg did not produce is an empty cell (``None``): a quick leg skips the op
probe, an ops report has no checks. Two legs with the same label get ``#2``, ``#3`` suffixes so no column
hides another.
"""

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from doctor.findings import ERROR, INFO, OK, SKIPPED
from doctor.reader import LoadedReport
from doctor.report import Entry, OpResult, label_of

CHECKS_SECTION = "checks"
OPS_SECTION = "ops"


@dataclass(frozen=True)
class Row:
    section: str  # checks | ops
    name: str
    cells: Tuple[Optional[Entry], ...]  # one per column: a finding, an op result, or None


@dataclass(frozen=True)
class Matrix:
    columns: Tuple[str, ...]
    sources: Tuple[str, ...]  # the report file behind each column
    environments: Tuple[Mapping[str, object], ...]
    summaries: Tuple[str, ...]  # each leg's summary, in the words its own report uses
    rows: Tuple[Row, ...]

    def failing(self, statuses: Sequence[str] = (ERROR,)) -> Dict[str, List[str]]:
        """For each column, the rows whose cell has one of ``statuses``."""
        found: Dict[str, List[str]] = {column: [] for column in self.columns}
        for row in self.rows:
            for column, case in zip(self.columns, row.cells):
                if case is not None and case.status in statuses:
                    found[column].append(row.name)
        return found

    def split_rows(self) -> Tuple[List[Row], List[Row]]:
        """(rows worth reading, rows that read the same on every leg that has them: all ok, all info or all
        skipped). A row where legs differ, even only between ok and info, is worth reading."""
        shown: List[Row] = []
        quiet: List[Row] = []
        for row in self.rows:
            (quiet if _same_and_calm(row) else shown).append(row)
        return shown, quiet


def _same_and_calm(row: Row) -> bool:
    statuses = {case.status for case in row.cells if case is not None}
    return len(statuses) == 1 and statuses <= {OK, INFO, SKIPPED}


def _unique(labels: Sequence[str]) -> List[str]:
    taken = set()
    unique = []
    for label in labels:
        name, number = label, 1
        while name in taken:
            number += 1
            name = "%s #%d" % (label, number)
        taken.add(name)
        unique.append(name)
    return unique


def build_matrix(loaded: Sequence[LoadedReport]) -> Matrix:
    reports = [item.report for item in loaded]
    columns = _unique([label_of(report) for report in reports])
    by_row: Dict[Tuple[int, str, str], List[Optional[Entry]]] = {}
    for index, report in enumerate(reports):
        for entry in report.entries():
            is_op = isinstance(entry, OpResult)
            key = (1 if is_op else 0, OPS_SECTION if is_op else CHECKS_SECTION, entry.id)
            cells = by_row.setdefault(key, [None] * len(reports))
            cells[index] = entry
    rows = tuple(Row(section, name, tuple(cells)) for (_, section, name), cells in sorted(by_row.items()))
    return Matrix(columns=tuple(columns), sources=tuple(item.path for item in loaded),
                  environments=tuple(report.environment or {} for report in reports),
                  summaries=tuple(report.summary().words() for report in reports), rows=rows)
