"""What a ``dl-doctor dist`` run's answers mean: which step stopped it and who to blame, and message sizes as
nccl-tests prints them. Pure functions of the dist probe's answer."""

from typing import Any, Dict, Mapping, Optional

STEPS = ("import", "backends", "rendezvous", "barrier", "all_reduce", "broadcast", "all_gather", "bandwidth",
         "fastai")


def size_label(size: int) -> str:
    """A message size as nccl-tests' tables and people say it: 1 KiB, 64 MiB."""
    for unit, scale in (("MiB", 1024 ** 2), ("KiB", 1024)):
        if size >= scale:
            return "%d %s" % (size // scale, unit)
    return "%d B" % size


# Which rank to blame when several ended badly: one that died or hung caused the others' errors and kills.
_BLAME_ORDER = {"died": 0, "timeout": 1, "error": 2, "killed": 3}


def run_failure(data: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """What stopped a ``dist`` run: the step, the ranks stopped there and how ({"step", "ending", "ranks",
    "records"}), or None when every rank finished. The earliest step wins among ranks that ended alike."""
    failed = [rank for rank in data.get("ranks", []) if rank.get("ending") != "finished"]
    if not failed:
        return None
    order = {step: index for index, step in enumerate(STEPS)}

    def blame(rank: Mapping[str, Any]):
        return _BLAME_ORDER.get(rank["ending"], 4), order.get(rank.get("in_step") or "", len(STEPS))

    first = min(failed, key=blame)
    alike = [rank for rank in failed if blame(rank) == blame(first)]
    return {"step": first.get("in_step") or "exit", "ending": first["ending"], "ranks": [r["rank"] for r in alike],
            "records": alike}
