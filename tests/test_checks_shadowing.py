"""checks/shadowing.py: shadowed-modules (a local torch.py or fastai/ hides the installed package)."""

import shlex

import pytest

from checkrun import build, commands, one
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
