"""The import direction of the house (design.md, "Data flow"): data never imports checks, checks never import the
engine, nothing below the commands imports a process module, and renderers read the report model and pure data
only. Read statically from every source file (imports inside functions count), plus one run in a child process
that imports the renderers and looks at what they loaded."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module may import its own layer and any lower one, never a higher one.
LAYERS = (
    ("data", ("doctor.findings", "doctor.outcome", "doctor.answers", "doctor.facts", "doctor.results",
              "doctor.lessons", "doctor.requirements", "doctor.redact", "doctor.requests", "doctor.learner_export",
              "doctor.report", "doctor.reader", "doctor.matrix", "doctor.diff")),
    # Fix plans describe before they act; checks may ask them what a fix would change (mps_fallback).
    ("fix plans", ("doctor.fixes", "doctor.fixes.mps_fallback", "doctor.fixes.pip_merge")),
    # The registry holds the @check decorator that every check module imports.
    ("checks", ("checks", "doctor.checks", "doctor.registry")),
    ("engine", ("doctor.engine", "doctor.selection")),
    ("processes", ("doctor.supervisor", "doctor.probes", "doctor.host_process", "doctor.ops", "doctor.dist",
                   "doctor.bench", "doctor.collect", "doctor.fixes.pip_install", "doctor.fixes.workflow",
                   "subprocess", "multiprocessing")),
    ("renderers", ("doctor.render",)),
    ("entry points", ("doctor.diagnose", "doctor.commands", "doctor.cli", "doctor.__main__", "doctor.notebook",
                      "doctor.pytest_plugin")),
)
# What a renderer may import besides other renderers: it observes a report, it never collects or runs anything.
RENDERERS_READ = ("data",)
# Python imports a package before any of its modules, so every module "imports" the root package ``doctor``
# (for __version__). Its own body imports the notebook magic only inside ``load_ipython_extension``, which IPython
# calls: the root is an entry point for what it imports, and no layer for who imports it.
PACKAGE_ROOT = "doctor"


def layer_of(module):
    """(index, name) of the longest prefix that names ``module``'s layer; None for an outside module."""
    best = None
    for index, (name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[2]):
                best = (index, name, len(prefix))
    return best and best[:2]


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files():
    """The parent-side sources: doctor/ and checks/, without the probe programs that run in child interpreters."""
    programs = ROOT / "doctor" / "probes" / "programs"
    return sorted(path for folder in ("doctor", "checks") for path in (ROOT / folder).rglob("*.py")
                  if programs not in path.parents)


def _type_checking_only(node):
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_in(text, package):
    """Every module an import statement in ``text`` names (``package``: where relative imports start), anywhere
    in the file except ``if TYPE_CHECKING:`` blocks, which never run (names used in annotations only)."""
    found = set()
    pending = [ast.parse(text)]
    while pending:
        node = pending.pop()
        if _type_checking_only(node):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            # ``from doctor.fixes import workflow`` imports a module, not a name: count the module.
            found.update("%s.%s" % (base, alias.name) for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))
    return found


def imports_of(path):
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def test_every_module_has_a_layer():
    unplaced = [module_name(path) for path in source_files()
                if module_name(path) != PACKAGE_ROOT and layer_of(module_name(path)) is None]
    assert unplaced == [], "add these modules to a layer in tests/test_layers.py: %s" % unplaced


def violations():
    found = []
    for path in source_files():
        importer = module_name(path)
        if importer == PACKAGE_ROOT or layer_of(importer) is None:  # test_every_module_has_a_layer names it
            continue
        own_index, own_layer = layer_of(importer)
        for imported in sorted(imports_of(path)):
            placed = layer_of(imported)
            if imported == PACKAGE_ROOT or placed is None:
                continue
            index, layer = placed
            if own_layer == "renderers":
                allowed = layer in RENDERERS_READ or layer == "renderers"
            else:
                allowed = index <= own_index
            if not allowed:
                found.append("%s (%s) imports %s (%s)" % (importer, own_layer, imported, layer))
    return found


def test_lower_layers_never_import_higher_ones():
    assert violations() == []


@pytest.mark.parametrize("module, imported, expected", [
    ("doctor.report", "doctor.render.text", "doctor.report (data) imports doctor.render.text (renderers)"),
    ("doctor.render.junit", "doctor.collect", "doctor.render.junit (renderers) imports doctor.collect (processes)"),
    ("checks.cuda", "doctor.engine", "checks.cuda (checks) imports doctor.engine (engine)"),
], ids=["data-imports-a-renderer", "renderer-imports-a-process-module", "check-imports-the-engine"])
def test_the_guard_catches_an_import_against_the_direction(monkeypatch, module, imported, expected):
    real_imports_of = imports_of

    def with_one_more(path):
        found = real_imports_of(path)
        return found | {imported} if module_name(path) == module else found

    real_source_files = source_files()
    target = next((path for path in real_source_files if module_name(path) == module), None)
    if target is None:
        pytest.skip("%s is not in this checkout" % module)
    monkeypatch.setattr(sys.modules[__name__], "imports_of", with_one_more)
    assert violations() == [expected]


def test_imports_inside_functions_and_relative_imports_count():
    source = textwrap.dedent("""
        from typing import TYPE_CHECKING
        from . import text
        from ..collect import Target
        if TYPE_CHECKING:
            from doctor.engine import run_checks
        def later():
            from doctor.probes import runner
            import subprocess
    """)
    found = imports_in(source, "doctor.render")
    assert {"doctor.render.text", "doctor.collect", "doctor.probes.runner", "subprocess"} <= found
    assert "doctor.engine" not in found


RENDERERS = ("doctor.render.junit", "doctor.render.markdown", "doctor.render.html", "doctor.render.json_report",
             "doctor.render.text", "doctor.render.matrix_report", "doctor.render.diff_report",
             "doctor.render.ops_report", "doctor.render.fix_text")
PROCESS_MODULES = ("doctor.probes", "doctor.supervisor", "doctor.collect", "doctor.ops", "doctor.dist",
                   "doctor.bench", "doctor.host_process", "doctor.engine", "doctor.registry", "doctor.fixes")


def test_importing_the_renderers_loads_no_process_module():
    # packaging (a dependency of the core) loads subprocess itself: it is imported first, so what is left is
    # what dl-doctor's own modules bring.
    program = textwrap.dedent("""
        import sys
        import packaging.requirements, packaging.specifiers, packaging.utils, packaging.version
        before = set(sys.modules)
        for name in %r:
            __import__(name)
        print("\\n".join(sorted(set(sys.modules) - before)))
    """ % (RENDERERS,))
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                               cwd=str(ROOT))
    assert completed.returncode == 0, completed.stderr
    loaded = completed.stdout.split()
    assert "doctor.render.junit" in loaded
    assert [name for name in loaded if name in ("subprocess", "multiprocessing")] == []
    assert [name for name in loaded if any(name == prefix or name.startswith(prefix + ".")
                                           for prefix in PROCESS_MODULES)] == []
