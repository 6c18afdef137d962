"""The answer declarations (doctor/answers) and what is built from them: the shipped facts schema, the factories'
checks and defaults, and old saved facts loading with every declared key explicit."""

import json
from pathlib import Path

import pytest

from conftest import run_cli
from doctor.answers import ANSWERS
from doctor.answers.json_schema import SCHEMA_FILE, schema_text
from doctor.answers.notebook import Kernelspec
from doctor.answers.shapes import complete
from doctor.engine import run_checks
from doctor.facts import Facts
from doctor.reader import read_report
from doctor.registry import registered_checks
from factories import _default_data, answer, make_facts, record, saved_ok_outcome, shape_errors

# Written by dl-doctor 0.1.0 at 16d6a68 (report schema 1, before the notebook probe read jupyter on PATH, the
# kernel modules and the fallback presets, before the process fact knew kernels, and the ops header the platform).
SCHEMA_1_REPORT = Path(__file__).parent / "data" / "report-schema-1.json"


def missing_keys(facts):
    """Where a loaded answer still lacks a declared key, at any depth (as "probe/key/..."): none means no KeyError."""
    unfilled = object()
    found = []

    def walk(value, path):
        if value is unfilled:
            found.append(path)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, "%s/%s" % (path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, "%s/%d" % (path, index))

    for name, outcome in facts.probes.items():
        if outcome.ok and name in ANSWERS:
            walk(complete(ANSWERS[name], outcome.data, lambda declared: unfilled), name)
    return found


def test_the_shipped_facts_schema_is_generated_from_the_declarations():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), \
        "doctor/schemas/facts.schema.json is out of date: run python -m doctor.answers.json_schema"


def test_the_report_schema_takes_its_facts_from_the_facts_schema():
    report = json.loads((SCHEMA_FILE.parent / "report.schema.json").read_text(encoding="utf-8"))
    assert report["$defs"]["facts"] == {"$ref": "facts.schema.json"}


@pytest.mark.parametrize("probe", sorted(_default_data()))
def test_the_healthy_defaults_declare_every_key_themselves(probe):
    assert shape_errors(ANSWERS[probe], _default_data()[probe]) == []


@pytest.mark.parametrize("overrides, culprit", [
    ({"process": {"kernal": True}}, "'kernal' was unexpected"),
    ({"torch": {"num_threads": "8"}}, "num_threads: '8' is not of type 'integer'"),
    ({"hardware": {"nvidia": {"gpus": [{"index": 0, "name": "GTX 1080", "compute_capability": "6.1",
                                        "memory": 8192}]}}}, "'memory' was unexpected"),
    ({"torch": {"importable": False}}, "'num_threads', 'version', 'xpu', 'xpu_version' were unexpected"),
], ids=["typo", "wrong-type", "undeclared-in-a-list", "a-shape-no-probe-sends"])
def test_an_override_that_no_probe_could_send_fails_loudly(overrides, culprit):
    with pytest.raises(AssertionError, match="does not fit its declaration") as raised:
        make_facts(**overrides)
    assert culprit in str(raised.value)


def test_left_out_keys_take_their_declared_defaults():
    gpus = make_facts(hardware={"nvidia": {"gpus": [{"index": 0, "name": "GTX 1080"}]}}).data("hardware")["nvidia"]
    assert gpus["gpus"] == [{"index": 0, "name": "GTX 1080", "uuid": "", "compute_capability": None,
                             "memory_total_mb": None, "memory_free_mb": None, "processes": None}]
    spec = record(Kernelspec, name="course", path="/k/kernel.json")
    assert (spec["no_site"], spec["env"], spec["error"], spec["argv0"]) == (False, [], None, None)
    assert answer("notebook")["fallback_presets"] == []
    assert answer("process", kernel=True)["kernel"] is True


def test_a_schema_1_report_loads_with_every_declared_key_explicit():
    facts = read_report(str(SCHEMA_1_REPORT), full=True).report.facts
    assert missing_keys(facts) == []
    notebook = facts.data("notebook")
    assert (notebook["fallback_presets"], notebook["jupyter_on_path"], notebook["jupyter_modules"]) == ([], None, None)
    assert all(spec["no_site"] is None for spec in notebook["kernelspecs"])
    assert (facts.data("process")["kernel"], facts.data("process")["no_site"]) == (None, None)
    assert facts.data("ops")["machine"] is None
    assert facts.data("packages")["torch_release_capabilities"] is None


def test_every_check_runs_on_a_schema_1_report_without_crashing():
    facts = read_report(str(SCHEMA_1_REPORT), full=True).report.facts
    findings, _ = run_checks(registered_checks(), facts)
    assert [(finding.id, finding.detail) for finding in findings if finding.crashed] == []


def test_check_reruns_on_a_schema_1_report(tmp_path):
    completed = run_cli("check", "--facts", str(SCHEMA_1_REPORT), "--format", "json", cwd=str(tmp_path))
    assert completed.returncode in (0, 1), completed.stderr
    findings = json.loads(completed.stdout)["findings"]
    assert findings and [finding["id"] for finding in findings if finding.get("crashed")] == []


def trimmed(facts, *paths):
    """The saved form of ``facts`` with the keys at ``paths`` (probe, key, ...) deleted, as an older dl-doctor wrote
    it."""
    saved = facts.to_dict()
    for probe, *keys in paths:
        holder = saved["probes"][probe]["data"]
        for key in keys[:-1]:
            holder = holder[key]
        del holder[keys[-1]]
    return saved


def test_a_hand_trimmed_answer_comes_back_with_its_keys_explicit():
    saved = trimmed(make_facts(), ("python", "module_origins"), ("torch", "distributed"),
                    ("torch", "cuda", "cudnn_version"), ("ops", "ops", 0, "dtype"),
                    ("imports", "statements", 0, "error"))
    facts = Facts.from_dict(saved)
    assert missing_keys(facts) == []
    assert facts.data("python")["module_origins"] == {}
    assert facts.data("torch")["distributed"] is None
    assert facts.data("torch")["cuda"]["cudnn_version"] is None
    assert facts.data("ops")["ops"][0]["dtype"] is None
    assert facts.data("imports")["statements"][0]["error"] is None


def test_an_answer_of_several_shapes_is_completed_as_the_shape_it_has():
    unusable = {"importable": False, "import_seconds": 0.2, "error": {"type": "ImportError", "message": "no"}}
    torch = Facts.from_dict(make_facts(outcomes={"torch": saved_ok_outcome("torch", unusable)}).to_dict()).data("torch")
    assert torch == dict(unusable, error={"type": "ImportError", "message": "no", "traceback": None, "files": []})


def test_saved_facts_of_this_version_reload_unchanged():
    facts = make_facts()
    assert Facts.from_dict(json.loads(json.dumps(facts.to_dict()))).probes == facts.probes
