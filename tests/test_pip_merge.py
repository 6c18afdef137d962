"""Merging findings' pip commands into one (doctor.fixes.pip_merge): table-driven, pure."""

import pytest

from packaging.specifiers import SpecifierSet

from doctor.findings import fix, warning
from doctor.fixes.pip_merge import (
    NotMergeable, merge_finding_fixes, merge_pip_commands, parse_pip_install,
    pip_commands_to_merge,
)
from doctor.requirements import can_meet

PY = "/home/me/venv/bin/python"
CU126 = "https://download.pytorch.org/whl/cu126"


def pip(*words):
    return " ".join([PY, "-m", "pip", "install", *words])


def merged(sources, windows=False):
    return [(m.command, m.finding_ids, m.notes, m.contradicts) for m in merge_pip_commands(sources, windows)]


@pytest.mark.parametrize("sources, expected", [
    # Two findings, two distributions: one command, both findings.
    ([("a", pip("'helperpkg<2'")), ("b", pip("fastai"))],
     [(pip("'helperpkg<2'", "fastai"), ("a", "b"), (), False)]),
    # The same distribution twice: the specifiers combine, names compare canonicalized, the first spelling stays.
    ([("a", pip("'Plum_Dispatch<2.10'")), ("b", pip("'plum-dispatch>=2.5'"))],
     [(pip("'Plum_Dispatch<2.10,>=2.5'"), ("a", "b"), (), False)]),
    # Constraints another engineer's pip_install adds (quoted, several clauses) and extras.
    ([("a", pip("'torch<3,>=1.10'")), ("b", pip("'torch[opt-einsum]>=2.3'", "torchvision"))],
     [(pip("'torch[opt-einsum]<3,>=1.10,>=2.3'", "torchvision"), ("a", "b"), (), False)]),
    # --upgrade / -U from any command applies to the merged one.
    ([("a", pip("-U", "fastcore", "fastai")), ("b", pip("'numpy<2'"))],
     [(pip("--upgrade", "fastcore", "fastai", "'numpy<2'"), ("a", "b"), (), False)]),
    # One finding's identical command from two findings: once.
    ([("a", pip("'ipywidgets>=8'")), ("b", pip("'ipywidgets>=8'"))],
     [(pip("'ipywidgets>=8'"), ("a", "b"), (), False)]),
])
def test_compatible_commands_merge_into_one(sources, expected):
    assert merged(sources) == expected


def test_incompatible_specifiers_stay_apart_and_say_why():
    result = merged([("a", pip("'helperpkg<2'")), ("b", pip("fastai")), ("c", pip("'helperpkg>=2'"))])
    assert result == [
        (pip("'helperpkg<2'", "fastai"), ("a", "b"), (), False),
        (pip("'helperpkg>=2'"), ("c",), ("kept apart: no version satisfies both helperpkg>=2 (c) and helperpkg<2 (a)",),
         True),
    ]


def test_another_index_stays_apart_and_commands_for_it_merge_with_each_other():
    result = merged([("a", pip("fastai")), ("b", pip("--force-reinstall", "torch", "--index-url", CU126)),
                     ("c", pip("--force-reinstall", "torchvision", "--index-url", CU126))])
    assert result[0] == (pip("fastai"), ("a",), (), False)
    command, ids, notes, contradicts = result[1]
    assert command == pip("--force-reinstall", "torch", "torchvision", "--index-url", CU126)
    assert ids == ("b", "c") and not contradicts
    assert notes == ("kept apart: it needs another package index (%s): one index cannot serve every package" % CU126,)


def test_force_reinstall_is_not_spread_to_packages_that_did_not_ask_for_it():
    result = merged([("a", pip("--force-reinstall", "torch")), ("b", pip("'numpy<2'")), ("c", pip("fastai"))])
    assert [r[0] for r in result] == [pip("--force-reinstall", "torch"), pip("'numpy<2'", "fastai")]
    assert "--force-reinstall reinstalls every package" in result[1][2][0]


def test_commands_for_other_interpreters_never_merge():
    other = "/other/bin/python -m pip install fastai"
    assert [r[0] for r in merged([("a", pip("numpy")), ("b", other)])] == [pip("numpy"), other]


@pytest.mark.parametrize("command, reason", [
    ("dl-doctor dist", "not a `python -m pip install` command"),
    (pip("-r", "requirements.txt"), "does not merge the option -r"),
    (pip("--pre", "torch"), "does not merge the option --pre"),
    (pip("'torch @ https://example.org/torch.whl'"), "has a URL or a marker"),
    (pip("'numpy<2; python_version<\"3.12\"'"), "has a URL or a marker"),
    (pip("'not a requirement!'"), "is not a requirement"),
    (pip("--index-url"), "has no URL after it"),
    (pip("'unclosed"), "cannot split it into words"),
])
def test_what_is_not_a_plain_pip_install_is_kept_as_printed(command, reason):
    with pytest.raises(NotMergeable, match=reason):
        parse_pip_install(command, windows=False)
    (kept,) = merge_pip_commands([("a", command)], windows=False)
    assert kept.command == command and kept.install is None and reason in kept.notes[0]


def test_windows_commands_keep_backslashes_and_double_quotes():
    python = '"C:\\Users\\Ada Lovelace\\venv\\Scripts\\python.exe"'
    first = python + ' -m pip install "torch<3,>=1.10" numpy'
    second = python + ' -m pip install "numpy<2"'
    (result,) = merge_pip_commands([("a", first), ("b", second)], windows=True)
    assert result.command == python + ' -m pip install "torch<3,>=1.10" "numpy<2"'
    assert result.install.python == "C:\\Users\\Ada Lovelace\\venv\\Scripts\\python.exe"


@pytest.mark.parametrize("specifiers, common", [
    ("<2,>=2", False),
    ("<2,>=1.5", True),
    ("==1.*,>=1.5", True),
    ("==1.*,>=2", False),
    ("~=1.4.2,<1.4.5", True),
    ("~=1.4.2,>=1.5", False),
    (">1.0,<1.0.1", True),
    ("==2.0,!=2.0", False),
    ("<0.1,>0.0.9", True),
    ("", True),
    ("==2.3.0a0,>=2.3.0a0", True),
    ("===2.3.0-nv24.01", True),
])
def test_specifiers_meet_where_some_version_satisfies_them_all(specifiers, common):
    assert can_meet([SpecifierSet(specifiers)]) is common


@pytest.mark.parametrize("choice, commands, chosen", [
    # A fix that offers a choice: the first (recommended) way out only.
    (True, [pip("'torch>=2.3'", "torchvision"), pip("'numpy<2'")], [pip("'torch>=2.3'", "torchvision")]),
    # A fix whose commands go together: all of them.
    (False, [pip("'a<2'"), pip("'b>=1'")], [pip("'a<2'"), pip("'b>=1'")]),
    # Other programs are not pip's to merge.
    (False, ["dl-doctor dist"], []),
], ids=["choice", "together", "not-pip"])
def test_which_commands_of_a_fix_join_the_merge(choice, commands, chosen):
    assert pip_commands_to_merge(fix("Do this:", *commands, choice=choice), windows=False) == chosen


def test_findings_merge_by_their_ids():
    findings = [warning("t", fix=fix("Install it:", pip("fastai"))).stamped("lesson-imports", "lesson"),
                warning("t", fix=fix("Upgrade:", pip("'ipywidgets>=8'"))).stamped("widgets-frontend", "widgets"),
                warning("t", fix=fix("Restart the kernel.")).stamped("mps-fallback-late", "mps")]
    (result,) = merge_finding_fixes(findings, windows=False)
    assert result.command == pip("fastai", "'ipywidgets>=8'")
    assert result.finding_ids == ("lesson-imports", "widgets-frontend")
