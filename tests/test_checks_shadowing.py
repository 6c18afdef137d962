"""checks/shadowing.py: shadowed-modules (a local torch.py or fastai/ hides the installed package)."""

import shlex

import pytest

from checkrun import build, commands, failed_torch_import, one
from factories import SITE, failed_outcome


def _origins(**records):
    return {"python": {"module_origins": records}}


def _found(origin, locations=()):
    return {"found": True, "origin": origin, "locations": list(locations), "error": None}


NOT_FOUND = {"found": False, "origin": None, "locations": [], "error": None}

# (id, layers, shadowed modules -> path shown, or {} for none)
SHADOW_CASES = [
    ("installed-packages", [], {}),
    ("local-torch-py", [_origins(torch=_found("/home/learner/torch.py"))], {"torch": "/home/learner/torch.py"}),
    ("local-fastai-package", [_origins(fastai=_found("/home/learner/fastai/__init__.py", ["/home/learner/fastai"]))],
     {"fastai": "/home/learner/fastai"}),
    ("local-namespace-folder", [_origins(PIL=_found(None, ["/home/learner/PIL"]))], {"PIL": "/home/learner/PIL"}),
    ("two-shadows", [_origins(torch=_found("/home/learner/torch.py"),
                              numpy=_found("/home/learner/numpy/__init__.py", ["/home/learner/numpy"]))],
     {"torch": "/home/learner/torch.py", "numpy": "/home/learner/numpy"}),
    ("sibling-of-site-packages-is-outside", [_origins(torch=_found(SITE + "-old/torch/__init__.py"))],
     {"torch": SITE + "-old/torch"}),
    ("not-installed-is-not-shadowed", [_origins(pandas=NOT_FOUND)], {}),
    ("editable-install", [_origins(fastai=_found("/home/learner/src/fastai/fastai/__init__.py")),
                          {"distributions": {"fastai": {"editable": True, "location": "/home/learner/src/fastai"}}}],
     {}),
    ("user-site", [_origins(matplotlib=_found("/home/learner/.local/lib/python3.11/site-packages/matplotlib/"
                                              "__init__.py")),
                   {"python": {"user_site": "/home/learner/.local/lib/python3.11/site-packages"}}], {}),
    ("system-site-packages", [_origins(numpy=_found("/usr/lib/python3/dist-packages/numpy/__init__.py")),
                              {"python": {"site_packages": [SITE, "/usr/lib/python3/dist-packages"]}}], {}),
    ("stdlib-module", [_origins(pandas=_found("/usr/lib/python3.11/pandas.py"))], {}),
    # A parent environment's site-packages joined through a .pth (site.addsitedir): its packages are installed
    # ones, found there by importlib.metadata too.
    ("site-folder-joined-by-a-pth", [_origins(numpy=_found("/opt/parent/site-packages/numpy/__init__.py")),
                                     {"distributions": {"numpy": {"location": "/opt/parent/site-packages"}}}], {}),
    # A plain folder (no __init__.py) named like a package that is not installed is what gets imported: a data
    # folder, not a shadow (lesson-imports says the package is missing).
    ("data-folder-named-like-an-uninstalled-package", [_origins(datasets=_found(None, ["/home/learner/datasets"]))],
     {}),
    # An .egg-info in the working folder does not make the learner's torch.py an installed package.
    ("egg-info-in-the-working-folder", [_origins(torch=_found("/home/learner/torch.py")),
                                        {"distributions": {"notes": {"location": "/home/learner"}}}],
     {"torch": "/home/learner/torch.py"}),
    ("local-file-beside-a-pth-site-folder", [_origins(torch=_found("/home/learner/torch.py")),
                                             {"distributions": {"numpy": {"location": "/opt/parent/site-packages"}}}],
     {"torch": "/home/learner/torch.py"}),
]


@pytest.mark.parametrize("layers, shadowed", [case[1:] for case in SHADOW_CASES],
                         ids=[case[0] for case in SHADOW_CASES])
def test_shadowed_modules(layers, shadowed):
    finding = one("shadowed-modules", build(*layers))
    if not shadowed:
        assert finding.status == "ok"
        assert finding.fix is None
        return
    assert finding.status == "error"
    first = sorted(shadowed)[0]
    assert finding.title.startswith("%s shadows the installed %s" % (shadowed[first], first))
    for module, path in shadowed.items():
        assert "%s -> %s" % (module, path) in finding.detail
    assert len(commands(finding)) == len(shadowed)
    assert "partially initialized module" in finding.detail


@pytest.mark.parametrize("count, title", [
    (1, "/home/learner/torch.py shadows the installed torch"),
    (2, "/home/learner/numpy.py shadows the installed numpy; and 1 more"),
])
def test_title_names_the_first_file_and_counts_the_rest(count, title):
    records = {"torch": _found("/home/learner/torch.py"), "numpy": _found("/home/learner/numpy.py")}
    finding = one("shadowed-modules", build(_origins(**dict(list(records.items())[:count]))))
    assert finding.title == title


@pytest.mark.parametrize("path, renamed", [
    ("/home/learner/torch.py", "/home/learner/my_torch.py"),
    ("/home/learner/fastai", "/home/learner/my_fastai"),
    ("/Users/ada/My Drive/course/torch.py", "/Users/ada/My Drive/course/my_torch.py"),
], ids=["file", "folder", "path-with-spaces"])
def test_fix_renames_each_shadow_with_a_command_that_survives_the_shell(path, renamed):
    origin = path + "/__init__.py" if not path.endswith(".py") else path
    finding = one("shadowed-modules", build(_origins(torch=_found(origin))))
    (command,) = commands(finding)
    assert shlex.split(command) == ["mv", path, renamed]
    assert "restart the kernel" in finding.fix.text


def test_needs_the_python_probe():
    finding = one("shadowed-modules", build(outcomes={"python": failed_outcome("python")}))
    assert finding.status == "skipped"


OTHER_SITE = "/opt/other-env/lib/python3.11/site-packages"

# (id, python facts, words the fix says): a copy that PYTHONPATH or a .pth file puts first is fixed there.
SOURCE_CASES = [
    ("pythonpath", {"module_origins": {"fastai": _found("/home/learner/lib/fastai.py")},
                    "added_path_entries": {"/home/learner/lib": {"source": "PYTHONPATH", "pth_file": None}}},
     ["PYTHONPATH puts /home/learner/lib on sys.path", "unset PYTHONPATH"]),
    ("pth-line", {"module_origins": {"torch": _found(OTHER_SITE + "/torch/__init__.py", [OTHER_SITE + "/torch"])},
                  "added_path_entries": {OTHER_SITE: {"source": "pth", "pth_file": SITE + "/other.pth"}}},
     [SITE + "/other.pth puts %s on sys.path: delete that line" % OTHER_SITE]),
    ("another-site-packages-of-unknown-source",
     {"module_origins": {"torch": _found(OTHER_SITE + "/torch/__init__.py", [OTHER_SITE + "/torch"])}},
     ["%s is another environment's package folder on sys.path" % OTHER_SITE]),
]


@pytest.mark.parametrize("python, said", [case[1:] for case in SOURCE_CASES], ids=[case[0] for case in SOURCE_CASES])
def test_a_shadow_from_pythonpath_a_pth_or_another_site_packages_is_never_moved(python, said):
    finding = one("shadowed-modules", build({"python": python}))
    assert finding.status == "error"
    assert commands(finding) == ()
    for words in said:
        assert words in finding.fix.text
    if "added_path_entries" in python:
        source = next(iter(python["added_path_entries"].values()))
        assert "(on sys.path through %s)" % (source["pth_file"] or "PYTHONPATH") in finding.detail


def test_a_pythonpath_folder_holding_another_distribution_is_no_home_for_fastai():
    """pip install --target lib notes, then a fastai.py in lib: lib is notes' location, not fastai's."""
    facts = build({"python": {"module_origins": {"fastai": _found("/home/learner/lib/fastai.py")}}},
                  {"distributions": {"notes": {"location": "/home/learner/lib"}}})
    assert one("shadowed-modules", facts).title.startswith("/home/learner/lib/fastai.py shadows the installed fastai")


def _local(**names):
    return {"python": {"stdlib_names_in_working_folder": names}}


# (id, layers, stdlib module -> path shown, or {} for none)
STDLIB_CASES = [
    ("none", [], {}),
    ("json-py", [_local(json="/home/learner/json.py")], {"json": "/home/learner/json.py"}),
    ("a-package", [_local(typing="/home/learner/typing")], {"typing": "/home/learner/typing"}),
    # Every interpreter imports os at start-up, before the working folder joins sys.path.
    ("imported-at-start", [_local(os="/home/learner/os.py")], {}),
    # Nothing in the course stack imports test or this; a learner's test.py is theirs alone.
    ("not-imported-by-the-stack", [_local(test="/home/learner/test.py", this="/home/learner/this.py")], {}),
    ("imported-in-this-target", [_local(test="/home/learner/test.py"),
                                 {"imports": {"stdlib_modules_imported": ["json", "test"]}}],
     {"test": "/home/learner/test.py"}),
]


@pytest.mark.parametrize("layers, shadowed", [case[1:] for case in STDLIB_CASES],
                         ids=[case[0] for case in STDLIB_CASES])
def test_stdlib_shadowed(layers, shadowed):
    finding = one("stdlib-shadowed", build(*layers))
    if not shadowed:
        assert (finding.status, finding.fix) == ("ok", None)
        return
    assert finding.status == "error"
    module, path = sorted(shadowed.items())[0]
    assert finding.title.startswith("%s shadows the standard library's %s" % (path, module))
    assert [shlex.split(command) for command in commands(finding)] == [
        ["mv", path, path.rsplit("/", 1)[0] + "/my_" + path.rsplit("/", 1)[1]] for path in shadowed.values()]


def test_torch_is_not_reinstalled_for_a_learners_random_py():
    """The import error torch meets names the file; the cause is the file, whatever the message looks like."""
    error = {"type": "ImportError", "message": "cannot import name 'Random' from 'random' (/home/learner/random.py)",
             "traceback": "File \"/usr/lib/python3.11/tempfile.py\", line 45\nImportError: cannot import name 'Random'",
             "files": ["/usr/lib/python3.11/tempfile.py"]}
    facts = build(_local(random="/home/learner/random.py"), failed_torch_import(error))
    finding = one("torch-import", facts)
    assert finding.title == ("import torch fails: /home/learner/random.py shadows the standard library's random "
                             "(see stdlib-shadowed)")
    assert not any("pip" in command for command in commands(finding))


def test_a_torch_probe_that_dies_beside_a_stdlib_shadow_blames_the_shadow_not_the_install():
    facts = build(_local(signal="/home/learner/signal.py"),
                  outcomes={"torch": failed_outcome("torch", stderr="Fatal Python error: Aborted")})
    finding = one("torch-import", facts)
    assert "/home/learner/signal.py shadows signal, which torch imports" in finding.fix.text
    assert commands(finding) == ()
