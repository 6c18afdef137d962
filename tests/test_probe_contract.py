"""The probe contract: every real probe's answer fits its declaration in doctor/answers, checked by jsonschema over
the shipped doctor/schemas/facts.schema.json. A key a probe stopped sending, a key it sends that is not declared,
or a value of another type fails here, naming the probe and the key.

The real runs are the suite's shared ones (conftest: a full check, a short bench, a healthy dist run), plus the
shapes a broken environment gives: a check, a bench and a learner look-up in a bare venv where nothing imports."""

import json
import zipfile
from importlib import resources

import jsonschema
import pytest

from conftest import SHORT_BENCH, make_venv, run_cli
from doctor.answers import ANSWERS
from doctor.answers.json_schema import answer_key
from doctor.collect import Target, probe_environment

pytestmark = pytest.mark.slow
SCHEMA = json.loads((resources.files("doctor") / "schemas" / "facts.schema.json").read_text(encoding="utf-8"))
FACTS_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
# Which real run answers for each probe; learner facts come from a look-up of a small export's names.
SOURCES = {"bench": "short_bench", "dist": "healthy_dist", "learner": "learner_run", "learner-names": "learner_run"}


def messages(errors):
    """Every message, those of anyOf branches included, with where it applies."""
    for error in errors:
        yield "%s: %s" % ("/".join(str(part) for part in error.absolute_path) or "(top)", error.message[:300])
        yield from messages(error.context)


def answer_errors(probe, data):
    validator = jsonschema.Draft202012Validator({"$ref": "#/$defs/" + answer_key(probe), "$defs": SCHEMA["$defs"]})
    return list(messages(validator.iter_errors(data)))


def ok_data(probes, name):
    outcome = probes[name]
    assert outcome["status"] == "ok", "probe %s did not answer: %s" % (name, outcome.get("reason"))
    return outcome["data"]


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """A venv that sees none of this environment's packages: torch, fastai and the rest do not import."""
    return make_venv(tmp_path_factory.mktemp("bare") / "venv")


@pytest.fixture(scope="module")
def bare_check(bare_python, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bare-check")
    completed = run_cli("check", "--python", str(bare_python), "--format", "json", "--output",
                        str(folder / "report.json"), cwd=str(folder))
    assert completed.returncode == 1, completed.stderr
    return json.loads((folder / "report.json").read_text())["facts"]["probes"]


@pytest.fixture(scope="module")
def bare_bench(bare_python, tmp_path_factory):
    completed = run_cli("bench", *SHORT_BENCH, "--python", str(bare_python), "--format", "json",
                        cwd=str(tmp_path_factory.mktemp("bare-bench")))
    return json.loads(completed.stdout)["facts"]["probes"]


def write_export(folder):
    """A zip laid out as torch.save writes one, whose pickle references a stdlib class, a name that module lacks,
    a module that is not installed and the learner's own __main__."""
    payload = (b"\x80\x02(ccollections\nOrderedDict\nccollections\nNoSuchName\ncno_such_module_here\nThing\n"
               b"c__main__\nlabel_func\nt.")
    path = folder / "export.pkl"
    with zipfile.ZipFile(str(path), "w") as archive:
        archive.writestr("export/data.pkl", payload)
        archive.writestr("export/version", "3\n")
    (folder / "requirements.txt").write_text("fastai==2.8.4\ntorch>=2.1\n")
    return path


@pytest.fixture(scope="module")
def learner_run(tmp_path_factory):
    from doctor.commands.learner import learner_outcomes, read_learner_input

    folder = tmp_path_factory.mktemp("learner")
    data = read_learner_input(str(write_export(folder)), str(folder / "requirements.txt"))
    outcomes = learner_outcomes(Target(cwd=str(folder)), data, probe_environment())
    return {name: outcome.to_dict() for name, outcome in outcomes.items()}


def real_probes(request, probe):
    source = request.getfixturevalue(SOURCES.get(probe, "real_check"))
    return source if "report" not in source else source["report"]["facts"]["probes"]


@pytest.mark.parametrize("probe", sorted(ANSWERS))
def test_every_real_answer_fits_its_declaration(probe, request):
    data = ok_data(real_probes(request, probe), probe)
    assert answer_errors(probe, data) == []


@pytest.mark.parametrize("probe", ["python", "packages", "notebook", "course", "hardware", "imports", "installs",
                                   "torch", "process"])
def test_every_answer_from_a_broken_environment_fits_its_declaration(probe, bare_check):
    data = ok_data(bare_check, probe)
    assert answer_errors(probe, data) == []


def test_the_broken_environment_gives_the_failure_shapes(bare_check, bare_bench):
    assert ok_data(bare_check, "torch")["importable"] is False
    assert bare_check["ops"]["status"] == "skipped"
    assert not any(statement["ok"] for statement in ok_data(bare_check, "imports")["statements"])
    bench = ok_data(bare_bench, "bench")
    assert bench["stage"] == "import"
    assert answer_errors("bench", bench) == []


def test_the_learner_look_up_covers_each_kind_of_reference(learner_run):
    modules = {record["module"]: record for record in ok_data(learner_run, "learner-names")["modules"]}
    assert modules["collections"]["missing"].keys() == {"NoSuchName"}
    assert modules["no_such_module_here"]["found"] is False
    assert modules["__main__"]["found"] is None
    assert ok_data(learner_run, "learner")["requirements"]["pins"]["fastai"]["specifier"] == "==2.8.4"


@pytest.mark.parametrize("source", ["real_check", "short_bench", "healthy_dist"])
def test_whole_saved_facts_fit_the_facts_schema(source, request):
    facts = request.getfixturevalue(source)["report"]["facts"]
    assert list(messages(FACTS_VALIDATOR.iter_errors(facts))) == []


def test_a_misfit_answer_is_caught_with_its_key():
    """The checks above can fail: a renamed key, an undeclared one and a wrong type are each named."""
    process = {"pid": 1, "torch_imported": False, "fallback_now": None, "initial_environment_known": True,
               "fallback_at_start": None, "kernel": False, "no_site": "no"}
    renamed = dict(process, kernal=process.pop("kernel"))
    errors = "\n".join(answer_errors("process", renamed))
    assert "'kernel' is a required property" in errors
    assert "'kernal' was unexpected" in errors
    assert "no_site: 'no' is not of type 'boolean'" in errors
