"""``dl-doctor check --only ID[,ID]``: just those checks run, and just the probes they read (``needs`` and
``reads`` in each ``@check``). The declarations are held to what the checks really read: each check, given only
its declared probes, finds what it finds with all of them."""

import json

import pytest

from conftest import run_cli
from doctor.facts import assemble_facts
from doctor.outcome import skipped_outcome
from doctor.engine import run_check
from doctor.registry import registered_checks
from doctor.selection import UnknownCheck, checks_named, probes_read
from factories import answer, failed_outcome, make_facts, ok_outcome

CHECKS = registered_checks("check")
METADATA_MEMBERS = {"python", "packages", "notebook", "course"}


def with_only(facts, probes):
    """The facts a run collecting only ``probes`` would have (the doctor's own process is always described)."""
    kept = {name: outcome if name in probes or name == "process" else skipped_outcome(name, "not needed for this run")
            for name, outcome in facts.probes.items()}
    return assemble_facts(facts.python, facts.cwd, facts.quick, facts.lesson, kept)


FACTS = {
    "healthy": make_facts(),
    "quick": make_facts(quick=True),
    "torch crashed": make_facts(outcomes={"torch": failed_outcome("torch"), "ops": failed_outcome("ops")}),
    "no torch installed": make_facts(distributions={"torch": None, "torchvision": None},
                                     outcomes={"torch": failed_outcome("torch", status="failed")}),
    "windows": make_facts(python={"marker_environment": {"os_name": "nt", "sys_platform": "win32"}}),
}
ANSWERED = {"notebook": ok_outcome("notebook", answer("notebook", prefix="/home/learner/.venv")),
            "course": ok_outcome("course", answer("course"))}
FACTS.update(("lesson %d, notebook and course answered" % lesson, make_facts(lesson=lesson, outcomes=ANSWERED))
             for lesson in (1, 4, 6))


@pytest.mark.parametrize("case", sorted(FACTS))
@pytest.mark.parametrize("spec", CHECKS, ids=[spec.id for spec in CHECKS])
def test_a_check_given_only_the_probes_it_declares_finds_the_same(spec, case):
    facts = FACTS[case]
    assert run_check(spec, with_only(facts, spec.probes)) == run_check(spec, facts), (
        "%s reads a probe its @check does not declare: add it to needs= or reads=" % spec.id)


def test_names_select_checks_in_registry_order_and_their_probes():
    chosen = checks_named("torch-import, python-version", CHECKS)
    assert [spec.id for spec in chosen] == sorted(["python-version", "torch-import"],
                                                   key=[spec.id for spec in CHECKS].index)
    assert {"python", "torch"} <= set(probes_read(chosen))
    assert "imports" not in probes_read(chosen) and "hardware" not in probes_read(chosen)


@pytest.mark.parametrize("text, words", [
    ("torch-imprt", ["torch-imprt", "torch-import"]),
    ("python-version,pyhton-bitness", ["pyhton-bitness", "python-bitness"]),
    (" , ", ["names no check"]),
])
def test_a_name_that_is_no_check_is_named_with_the_nearest(text, words):
    with pytest.raises(UnknownCheck) as raised:
        checks_named(text, CHECKS)
    for word in words:
        assert word in str(raised.value)


def test_cli_runs_one_metadata_check_and_only_the_metadata_probe(tmp_path):
    completed = run_cli("check", "--only", "python-version", "--format", "json", cwd=str(tmp_path))
    assert completed.returncode in (0, 1), completed.stderr
    report = json.loads(completed.stdout)
    assert [finding["id"] for finding in report["findings"]] == ["python-version"]
    ran = {name for name, outcome in report["facts"]["probes"].items() if outcome["status"] != "skipped"}
    assert ran == METADATA_MEMBERS | {"process"}
    assert report["facts"]["probes"]["torch"]["reason"] == "not needed for this run"


def test_cli_unknown_id_is_one_line_naming_the_nearest_and_exit_2():
    completed = run_cli("check", "--only", "python-versoin")
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr
    assert "python-versoin" in completed.stderr and "python-version" in completed.stderr


def test_cli_only_on_saved_facts_runs_just_those_checks(tmp_path):
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(make_facts().to_dict()))
    completed = run_cli("check", "--facts", str(path), "--only", "numpy-abi,python-bitness", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert sorted(finding["id"] for finding in report["findings"]) == ["numpy-abi", "python-bitness"]
