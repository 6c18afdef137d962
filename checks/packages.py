"""Installed packages: the course stack's versions, requirement conflicts (what ``pip check`` finds),
and the version pairings that break the lesson import: torch/torchvision, NumPy, Pillow."""

from packaging.utils import canonicalize_name
from packaging.version import Version

from doctor.facts import parse_version, unparsable_requirements
from doctor.findings import error, fix, info, ok, skipped, warning
from doctor.registry import check

from .commands import conflicts_text, install_fix, plan_install, pytorch_index_for_local_tag

COURSE_PACKAGES = (
    "torch", "torchvision", "fastai", "fastcore", "numpy", "pillow",
    "ipywidgets", "jupyterlab_widgets", "widgetsnbextension",
)


def _version_of(facts, name):
    if name == "torch" and facts.derived.torch_build:
        return facts.derived.torch_build.version
    if name == "torchvision" and facts.derived.torchvision_version:
        return facts.derived.torchvision_version
    dist = facts.distribution(name)
    return dist.version if dist else None


@check("package-versions", "Versions of the course packages, from installed metadata", needs=("packages",),
       reads=('torch', 'python'), topic="packages")
def package_versions(facts):
    versions = [(name, _version_of(facts, name)) for name in COURSE_PACKAGES]
    installed = ["%s %s" % (name, version) for name, version in versions if version]
    missing = [name for name, version in versions if not version]
    title = "%d of %d course packages installed" % (len(installed), len(COURSE_PACKAGES))
    if missing:
        title += " (not installed: %s)" % ", ".join(missing)
    yield info(title, detail="\n".join(installed + ["%s: not installed" % name for name in missing]))


def requirement_problems(facts):
    """What ``pip check`` reports: (requiring distribution, requirement, installed version or None)."""
    problems = []
    for dist in sorted(facts.derived.distributions.values(), key=lambda d: canonicalize_name(d.name)):
        for requirement in facts.derived.requirements.requirements(dist):
            provider = facts.distribution(requirement.name)
            if provider is None:
                problems.append((dist, requirement, None))
                continue
            version = provider.parsed_version
            # pip check accepts pre-releases that an installed version happens to be.
            if version is None or not requirement.specifier.contains(version, prereleases=True):
                problems.append((dist, requirement, provider.version))
    return problems


def _describe(dist, requirement, installed):
    """In pip check's own words, so the two can be compared line for line."""
    if installed is None:
        return "%s %s requires %s, which is not installed." % (dist.name, dist.version, requirement.name)
    return "%s %s has requirement %s, but you have %s %s." % (
        dist.name, dist.version, requirement, requirement.name, installed)


def _requirement_spec(requirement):
    return "%s%s" % (requirement.name, requirement.specifier)


def _relation(requirement, installed):
    """How the installed version misses the requirement, in words: 'is newer than', 'is older than'."""
    version = parse_version(installed)
    if version is None:
        return "does not meet"
    failing = [clause for clause in requirement.specifier if not clause.contains(version, prereleases=True)]
    for clause in failing:
        bound = parse_version(clause.version.rstrip(".*"))
        if clause.operator in ("<", "<=") or (clause.operator in ("==", "~=") and bound and version > bound):
            return "is newer than"
        if clause.operator in (">", ">=") or (clause.operator in ("==", "~=") and bound and version < bound):
            return "is older than"
    return "does not meet"


def _problem_title(dist, requirement, installed, conflicts):
    """The culprit and the requirement it misses: 'plum-dispatch 2.10.1 is newer than fastai 2.8.12 allows
    (<2.10)'; when moving it would break another distribution, both requirements."""
    if conflicts:
        return "%s %s needs %s but %s" % (dist.name, dist.version, _requirement_spec(requirement),
                                          " and ".join(c.describe() for c in conflicts))
    if installed is None:
        return "%s %s requires %s, which is not installed" % (dist.name, dist.version, requirement.name)
    relation = _relation(requirement, installed)
    verb = {"is newer than": "allows", "is older than": "needs"}.get(relation, "requires")
    if relation == "does not meet":
        return "%s %s does not meet %s %s's requirement (%s)" % (requirement.name, installed, dist.name,
                                                                dist.version, requirement.specifier)
    return "%s %s %s %s %s %s (%s)" % (requirement.name, installed, relation, dist.name, dist.version, verb,
                                      requirement.specifier)


def _remedy(facts, dist, requirement, installed):
    """The install words that mend one broken requirement, and the conflicts that ruled out the direct one.

    The direct remedy installs what the requirement asks. When that would break another installed
    distribution (numpy<2 against pandas 3), the requiring distribution moves instead, holding the
    required one where the others need it (knowledge: NumPy's own numpy<2 hint breaks pandas >= 2.2.2).
    """
    direct = plan_install(facts, _requirement_spec(requirement))
    if direct.command is not None:
        return [_requirement_spec(requirement)], ()
    held = ["%s==%s" % (requirement.name, installed)] if installed else []
    return ["--upgrade", dist.name] + held, direct.conflicts


def _one_command(facts, remedies):
    """One pip command for every remedy, so pip resolves them together; one each when they cannot share."""
    words = [word for remedy in remedies for word in remedy]
    options = list(dict.fromkeys(word for word in words if word.startswith("-")))
    together = plan_install(facts, *options, *dict.fromkeys(word for word in words if not word.startswith("-")))
    if together.command is not None:
        return [together.command]
    singles = [plan_install(facts, *remedy).command for remedy in remedies]
    return list(dict.fromkeys(command for command in singles if command))


def _count(problems, where):
    return "%d broken requirement%s %s" % (len(problems), "" if len(problems) == 1 else "s", where)


def _unparsable(facts):
    """(distribution, requirement text) for every requirement its metadata declares that packaging cannot parse."""
    return [(dist, text) for dist in facts.derived.distributions.values() for text in unparsable_requirements(dist)]


def _by_stack(facts, problems):
    """(in the course stack, elsewhere): a broken requirement of a lesson's distribution breaks the lesson;
    another one only makes pip complain. The stack's come first, in the title and in the detail."""
    stack = facts.derived.lesson_stack
    in_stack = [p for p in problems if canonicalize_name(p[0].name) in stack]
    elsewhere = [p for p in problems if canonicalize_name(p[0].name) not in stack]
    return in_stack, elsewhere


def _detail_lines(ordered, remedies, broken, unparsable):
    """pip check's own lines, then why a direct remedy could not be installed, then the metadata that could not
    be read."""
    lines = [_describe(*p) for p in ordered]
    lines += ["%s cannot be installed: %s" % (_requirement_spec(p[1]), conflicts_text(conflicts))
              for p, (_, conflicts) in zip(ordered, remedies) if conflicts]
    lines += ["unreadable metadata at %s: %s" % (item["path"], item["error"]) for item in broken]
    lines += ["%s %s declares an unparsable requirement %r" % (d.name, d.version, text) for d, text in unparsable]
    return lines


def _and_more(first, count):
    return first + ("; and %d more" % (count - 1) if count > 1 else "")


def _broken_requirements_finding(facts, in_stack, elsewhere, remedies, lines):
    """An error when the course stack's requirements are broken, a warning when only others' are; one command
    for every remedy."""
    ordered = in_stack + elsewhere
    title = _and_more(_problem_title(*ordered[0], remedies[0][1]), len(ordered))
    commands = _one_command(facts, [words for words, _ in remedies])
    if in_stack:
        return error(
            title,
            detail="\n".join([_count(in_stack, "in the course stack") + ":"] + lines),
            fix=fix("Install versions that satisfy every requirement (pip resolves the set together):", *commands),
        )
    return warning(
        title,
        detail="\n".join([_count(elsewhere, "outside the course stack") + ":"] + lines),
        fix=fix("These do not touch the lessons, but pip will complain about them:", *commands),
    )


def _unreadable_metadata_finding(broken, unparsable, lines):
    """Metadata pip check cannot read either: no install mends it, so a warning without a fix."""
    culprits = ["unreadable metadata at %s" % item["path"] for item in broken]
    culprits += ["%s %s declares an unparsable requirement" % (d.name, d.version) for d, _ in unparsable]
    return warning(_and_more(culprits[0], len(culprits)), detail="\n".join(lines))


@check("package-requirements", "Requirement conflicts among installed distributions (what pip check finds)",
       needs=("packages",), reads=('python',), topic="packages")
def package_requirements(facts):
    broken = (facts.data("packages") or {}).get("broken") or []
    unparsable = _unparsable(facts)
    in_stack, elsewhere = _by_stack(facts, requirement_problems(facts))
    ordered = in_stack + elsewhere
    remedies = [_remedy(facts, *problem) for problem in ordered]
    lines = _detail_lines(ordered, remedies, broken, unparsable)
    if ordered:
        yield _broken_requirements_finding(facts, in_stack, elsewhere, remedies, lines)
    elif broken or unparsable:
        yield _unreadable_metadata_finding(broken, unparsable, lines)
    else:
        yield ok("no broken requirements among %d distributions" % len(facts.derived.distributions))


def expected_torchvision_minor(torch_version: Version):
    """The torchvision minor version built for a torch release (None where no rule is known).

    torch 2.N pairs with torchvision 0.(N+15) and torch 1.N (N >= 4) with 0.(N+1): torchvision's compatibility
    table (README, "Installation").
    """
    major, minor = torch_version.release[0], torch_version.release[1] if len(torch_version.release) > 1 else 0
    if major == 2:
        return minor + 15
    if major == 1 and minor >= 4:
        return minor + 1
    return None


def pairing_fix(facts, text):
    """Install the torchvision built for the installed torch, keeping that torch (from torch's own index)."""
    build = facts.derived.torch_build
    torch_version = build.parsed_version if build else None
    expected = expected_torchvision_minor(torch_version) if torch_version else None
    index = pytorch_index_for_local_tag(build.local_tag) if build else None
    if expected is None:
        words = ("--force-reinstall", "torch", "torchvision")
    else:
        words = ("torch==%s" % torch_version.public, "torchvision==0.%d.*" % expected)
    return install_fix(facts, text, *words, index_url=index)


@check("torchvision-pairing", "torchvision was built for the installed torch (version and local tag)",
       needs=("packages",), reads=('torch', 'python'), topic="packages")
def torchvision_pairing(facts):
    build = facts.derived.torch_build
    vision = facts.derived.torchvision_version
    if build is None or vision is None:
        yield skipped("torch and torchvision are not both installed")
        return
    torch_version = build.parsed_version
    try:
        vision_version = Version(vision)
    except ValueError:
        vision_version = None
    if torch_version is None or vision_version is None:
        yield warning("cannot read versions torch %s / torchvision %s" % (build.version, vision))
        return
    expected = expected_torchvision_minor(torch_version)
    index = pytorch_index_for_local_tag(build.local_tag)
    pair = "torch %s with torchvision %s" % (build.version, vision)
    if expected is not None and vision_version.release[:2] != (0, expected):
        # "operator torchvision::nms does not exist" is what the learner sees (pytorch/vision#4728).
        yield error(
            "torchvision %s does not match torch %s (it needs torchvision 0.%d)"
            % (vision, build.version, expected),
            detail=pair + "\nImporting torchvision fails with \"operator torchvision::nms does not exist\".",
            fix=pairing_fix(facts, "Install the torchvision built for this torch (from the same index as torch):"),
        )
        return
    torch_tag, vision_tag = build.local_tag, vision_version.local
    if torch_tag and vision_tag and torch_tag != vision_tag:
        yield error(
            "torch is a +%s build but torchvision is +%s" % (torch_tag, vision_tag),
            detail=pair + "\nBoth must come from the same PyTorch index (torchvision README, \"Installation\").",
            fix=install_fix(facts, "Reinstall both from torch's index:", "torch==%s" % torch_version.public,
                            "torchvision==%s" % vision_version.public, index_url=index),
        )
        return
    yield ok(pair)


# torch supports NumPy 2 from 2.3 on; older builds fail with "A module that was compiled using NumPy 1.x
# cannot be run in NumPy 2" (torch 2.3.0 release notes).
FIRST_TORCH_FOR_NUMPY_2 = Version("2.3")


@check("numpy-abi", "NumPy 2 only with a torch built for it (torch >= 2.3)", needs=("packages",),
       reads=('torch', 'python'), topic="packages")
def numpy_abi(facts):
    numpy = facts.distribution("numpy")
    build = facts.derived.torch_build
    if numpy is None or build is None or numpy.parsed_version is None or build.parsed_version is None:
        yield skipped("numpy and torch are not both installed")
        return
    # Compared by release numbers: NVIDIA's container builds (2.3.0a0) have NumPy 2 support.
    if numpy.parsed_version.major >= 2 and build.parsed_version.release[:2] < FIRST_TORCH_FOR_NUMPY_2.release:
        yield error(
            "NumPy %s with torch %s, which was compiled for NumPy 1.x" % (numpy.version, build.version),
            detail="torch < 2.3 prints \"A module that was compiled using NumPy 1.x cannot be run in NumPy 2\" "
                   "and then \"Numpy is not available\" on the first tensor <-> array conversion.",
            fix=_either_fix(facts, ("Upgrade torch (and the matching torchvision)", ["torch>=2.3", "torchvision"]),
                            ("pin NumPy 1.x", ["numpy<2"])),
        )
        return
    yield ok("NumPy %s works with torch %s" % (numpy.version, build.version))


def _either_fix(facts, *choices):
    """A fix offering each (words, install) choice that can be installed without breaking another
    distribution; the ones that cannot are named with what they would break."""
    plans = [(text, plan_install(facts, *words)) for text, words in choices]
    usable = [(text, plan) for text, plan in plans if plan.command]
    ruled_out = ["%s is ruled out: %s" % (text[0].upper() + text[1:], conflicts_text(plan.conflicts))
                 for text, plan in plans if not plan.command]
    text = " or ".join(t if i == 0 else t[0].lower() + t[1:] for i, (t, _) in enumerate(usable))
    text = (text[0].upper() + text[1:] + ":") if usable else "No install fixes it without breaking another package."
    return fix(" ".join([text] + [line + "." for line in ruled_out]), *(plan.command for _, plan in usable),
               choice=len(usable) > 1)


# Pillow 10.0.0 removed Image.ANTIALIAS (Pillow 10.0.0 release notes, "Removed constants").
PILLOW_WITHOUT_ANTIALIAS = Version("10")


@check("pillow-api", "No installed course code uses Pillow API that the installed Pillow removed",
       needs=("packages",), topic="packages")
def pillow_api(facts):
    pillow = facts.distribution("pillow")
    if pillow is None or pillow.parsed_version is None:
        yield skipped("Pillow is not installed")
        return
    users = (facts.data("packages") or {}).get("antialias_users") or {}
    affected = {name: files for name, files in users.items() if files}
    if affected and pillow.parsed_version >= PILLOW_WITHOUT_ANTIALIAS:
        names = sorted(affected)
        detail = "\n".join("%s: %s" % (name, ", ".join(affected[name])) for name in names)
        yield error(
            "%s use%s Image.ANTIALIAS, which Pillow %s no longer has"
            % (", ".join(names), "s" if len(names) == 1 else "", pillow.version),
            detail=detail + "\nThose lines fail with AttributeError: module 'PIL.Image' has no attribute 'ANTIALIAS'.",
            fix=_either_fix(facts, ("Upgrade the package that uses it", ["--upgrade"] + names),
                            ("pin Pillow below 10", ["pillow<10"])),
        )
        return
    yield ok("Pillow %s" % pillow.version)


# protobuf 30 (Python 6.30) removed MessageFactory.GetPrototype (protobuf.dev/support/migration, "Changes in v30.0
# (Python)"); TensorFlow still calls it when it starts: "AttributeError: 'MessageFactory' object has no attribute
# 'GetPrototype'" (tensorflow/tensorflow#94030, #109469: TensorFlow 2.18 to 2.20). Kaggle and Colab images
# preinstall TensorFlow; that `from transformers import Trainer` then fails too is reported from them, not reproduced
# here (no TensorFlow on this machine). The protobuf each TensorFlow release declares is read from its installed
# metadata: install_fix keeps the pin within it (PyPI serves no metadata file for TensorFlow's wheels to tabulate).
PROTOBUF_WITHOUT_GETPROTOTYPE = Version("6.30")
TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly")
PROTOBUF_ISSUE = "https://github.com/tensorflow/tensorflow/issues/94030"


@check("protobuf-tensorflow", "protobuf < 6.30 where TensorFlow is installed (6.30 removed what TensorFlow calls)",
       needs=("packages",), topic="packages")
def protobuf_tensorflow(facts):
    tensorflow = next((d for d in map(facts.distribution, TENSORFLOW_DISTRIBUTIONS) if d is not None), None)
    protobuf = facts.distribution("protobuf")
    if tensorflow is None or protobuf is None or protobuf.parsed_version is None:
        yield skipped("TensorFlow is not installed" if tensorflow is None else "protobuf is not installed")
        return
    if protobuf.parsed_version < PROTOBUF_WITHOUT_GETPROTOTYPE:
        yield ok("protobuf %s with %s %s" % (protobuf.version, tensorflow.name, tensorflow.version))
        return
    transformers = facts.distribution("transformers")
    detail = ("protobuf %s removed MessageFactory.GetPrototype, which TensorFlow calls at import:\n"
              "AttributeError: 'MessageFactory' object has no attribute 'GetPrototype'" % PROTOBUF_WITHOUT_GETPROTOTYPE)
    if transformers is not None:
        detail += ("\ntransformers %s is installed too: on Kaggle and Colab images `from transformers import Trainer` "
                   "is reported to fail the same way." % transformers.version)
    yield warning(
        "protobuf %s with %s %s: importing TensorFlow fails in MessageFactory"
        % (protobuf.version, tensorflow.name, tensorflow.version),
        detail=detail,
        fix=install_fix(facts, "Pin protobuf below 6.30 (or uninstall TensorFlow if the course does not use it):",
                        "protobuf<%s" % PROTOBUF_WITHOUT_GETPROTOTYPE),
        links=(PROTOBUF_ISSUE,),
    )
