"""The ``kernelspec`` fix: a kernelspec whose interpreter no longer exists (its environment was deleted or moved)
runs the examined interpreter instead.

Jupyter starts a kernel by running the kernelspec's ``argv`` (jupyter_client/kernelspec.py, KernelSpec.argv);
when ``argv[0]`` is gone the kernel dies at start and the front end only says it is restarting. Rewriting
``argv[0]`` in that ``kernel.json`` keeps the learner's kernel name, so notebooks that name it find it again; the
other keys (``env``, the display name) are kept as they are. A kernelspec that runs another *existing*
environment is left alone: it is someone's working kernel. Where the file is not the learner's to change, the
plan refuses and the finding's command registers this interpreter under the same name in the user's folder
(``ipykernel install --user``), which comes first in Jupyter's search path.
"""

import json
from pathlib import Path
from typing import List

from doctor.facts import Facts
from doctor.fixes import FileWrite, FixDefinition, FixRefused, Plan, check_writable

FIX_ID = "kernelspec"


def broken_kernelspecs(facts: Facts) -> List[dict]:
    """The readable kernelspecs whose interpreter does not exist."""
    notebook = facts.data("notebook") or {}
    return [spec for spec in notebook.get("kernelspecs") or []
            if not spec.get("error") and spec.get("argv0_found") is False]


def rewritten(original: bytes, interpreter: str) -> bytes:
    """The kernel.json with ``argv[0]`` replaced, written as ipykernel writes kernelspecs (json.dump, indent=1)."""
    spec = json.loads(original.decode("utf-8"))
    spec["argv"] = [interpreter] + list(spec["argv"][1:])
    return (json.dumps(spec, indent=1) + "\n").encode("utf-8")


def _write(spec: dict, interpreter: str, prefix: str) -> FileWrite:
    path = Path(spec["path"])
    try:
        original = path.read_bytes()
    except OSError as exc:
        raise FixRefused("cannot read %s (%s)" % (path, exc.strerror)) from None
    try:
        content = rewritten(original, interpreter)
    except (ValueError, KeyError, TypeError, IndexError):
        raise FixRefused("%s is not a kernelspec with an argv list" % path) from None
    try:
        check_writable(path.parent, prefix)
    except FixRefused as exc:
        raise FixRefused("%s; register this interpreter under the same name instead: %s -m ipykernel install --user "
                         "--name %s" % (exc, interpreter, spec["name"])) from None
    return FileWrite(str(path), content, "kernel %r ran %s, which does not exist" % (spec["name"], spec["argv0"]))


def plan_kernelspec(facts: Facts) -> Plan:
    python = facts.data("python")
    if python is None or not python.get("executable"):
        raise FixRefused("the interpreter did not answer (see probes-answered)")
    specs = broken_kernelspecs(facts)
    if not specs:
        raise FixRefused("no kernelspec names a missing interpreter")
    modules = (facts.data("notebook") or {}).get("jupyter_modules") or {}
    if modules.get("ipykernel") is False:
        raise FixRefused("ipykernel is not installed in %s, so a kernel cannot run it; install it first (%s -m pip "
                         "install ipykernel)" % (python["prefix"], python["executable"]))
    writes = tuple(_write(spec, python["executable"], python["prefix"]) for spec in specs)
    return Plan(
        fix_id=FIX_ID,
        summary="run %s in %s" % (python["executable"], ", ".join("kernel %r" % s["name"] for s in specs)),
        writes=writes,
        rechecks=("kernelspec-interpreter",),
        prefix=python["prefix"],
        notes=("Reload the notebook page (or pick the kernel again) so the front end reads the kernelspec anew.",),
    )


KERNELSPEC = FixDefinition(FIX_ID, "point kernelspecs whose interpreter is gone at this interpreter", plan_kernelspec)
