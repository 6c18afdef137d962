"""The all_reduce bandwidth table of `dl-doctor dist`, as nccl-tests prints it: message size, time per call,
algorithm bandwidth and bus bandwidth (doc/PERFORMANCE.md of nccl-tests says how busbw is derived)."""

from typing import Any, Mapping

from doctor.results.dist import size_label
from doctor.facts import Facts


def bandwidth_rows(facts: Facts) -> Mapping[str, Any]:
    """Rank 0's bandwidth answer, or an empty mapping when the run did not get that far."""
    results = ((facts.data("dist") or {}).get("results") or {}).get("bandwidth") or {}
    return results.get("0") or {}


def render_bandwidth_table(facts: Facts) -> str:
    """The table as text, or an empty string when there is none."""
    from tabulate import tabulate

    table = bandwidth_rows(facts)
    if not table.get("rows"):
        return ""
    data = facts.data("dist") or {}
    rows = [(size_label(row["bytes"]), row["calls"], "%.1f" % row["time_us"], "%.3f" % row["algbw_gbps"],
             "%.3f" % row["busbw_gbps"]) for row in table["rows"]]
    heading = "all_reduce over %s, %d ranks on %s (float32, sum)" % (data.get("backend"), table["world_size"],
                                                                       table["device"].split(":")[0])
    body = tabulate(rows, headers=("size", "calls", "time (µs)", "algbw (GB/s)", "busbw (GB/s)"),
                    colalign=("right", "right", "right", "right", "right"))
    return "%s\n%s\n" % (heading, body)
