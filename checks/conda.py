"""conda environments: torch from the ``pytorch`` channel, which stopped publishing at 2.5, and packages that both
conda and pip installed into the same prefix (two records of one package, pip's files over conda's)."""

import functools
import re

from packaging.utils import canonicalize_name

from doctor.findings import fix, ok, skipped, warning
from doctor.registry import check

from .commands import command_line, pip_install, target_python

# "[Announcement] Deprecating PyTorch's official Anaconda channel" (pytorch/pytorch#138506): the pytorch and
# pytorch-nightly channels get nothing after PyTorch 2.5.
FROZEN_CHANNEL = re.compile(r"(^|/)pytorch(-nightly)?(/|$)")
FROZEN_AT = "2.5"
PYTORCH_PACKAGES = ("pytorch", "torchvision", "torchaudio", "pytorch-cuda", "pytorch-mutex", "cpuonly")
CHANNEL_ANNOUNCEMENT = "https://github.com/pytorch/pytorch/issues/138506"
PIP_IN_CONDA = "https://www.anaconda.com/docs/getting-started/working-with-conda/packages/pip-install"


def _conda(facts, *words):
    return command_line(facts, "conda", *words)


def in_conda_environment(body):
    """A conda check judges the installs probe's answer and the environment's prefix; outside a conda environment
    it gives the one finding that says so instead."""
    @functools.wraps(body)
    def judged(facts):
        answer = facts.data("installs")
        if answer["conda_prefix"] is None:
            yield skipped("not a conda environment")
            return
        yield from body(facts, answer, answer["conda_prefix"])

    return judged


@check("conda-pytorch-channel", "torch is not from the pytorch conda channel, which stopped publishing at 2.5",
       needs=("installs",), reads=("python", "packages"), topic="conda")
@in_conda_environment
def conda_pytorch_channel(facts, answer, prefix):
    frozen = [p for p in answer["conda_packages"]
              if p["name"] in PYTORCH_PACKAGES and FROZEN_CHANNEL.search(p["channel"] or "")]
    if not frozen:
        yield ok("no package from the pytorch conda channel")
        return
    names = [p["name"] for p in frozen]
    yield warning(
        "%s from the pytorch conda channel, which stopped at torch %s: it will get no newer torch"
        % (", ".join("%s %s" % (p["name"], p["version"]) for p in frozen), FROZEN_AT),
        detail="\n".join("%s %s %s from %s" % (p["name"], p["version"], p["build"], p["channel"]) for p in frozen),
        fix=fix("Remove the channel's packages and install torch with pip into this environment (PyTorch's "
                "instructions), or from conda-forge (conda install -c conda-forge pytorch torchvision):",
                _conda(facts, "remove", "-p", prefix, *names),
                pip_install(facts, "torch", "torchvision")),
        links=(CHANNEL_ANNOUNCEMENT,),
    )


def _claimed(answer):
    """canonical name -> (conda package, the metadata folders its conda-meta record lists)."""
    claims = {}
    for package in answer["conda_packages"]:
        for folder in package["dist_infos"]:
            stem = folder.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            name = stem.rsplit("-", 1)[0] if "-" in stem else stem
            claims.setdefault(canonicalize_name(name), (package, set()))[1].add(folder)
    return claims


@check("conda-pip-mixed", "No package installed by both conda and pip in one conda environment",
       needs=("installs",), reads=("python", "packages"), topic="conda")
@in_conda_environment
def conda_pip_mixed(facts, answer, prefix):
    claims = _claimed(answer)
    mixed = []
    for dist in answer["python_distributions"]:
        claim = claims.get(canonicalize_name(dist["name"]))
        if claim is not None and dist["path"] not in claim[1]:
            mixed.append((claim[0], dist))
    if not mixed:
        yield ok("no package installed by both conda and pip")
        return
    lines = ["%s: conda-meta records %s %s (%s); %s also holds %s %s installed by %s"
             % (dist["name"], package["name"], package["version"], package["channel"], dist["path"], dist["name"],
                dist["version"], dist["installer"] or "an unknown installer")
             for package, dist in mixed]
    commands = [command_line(facts, target_python(facts), "-m", "pip", "uninstall", "-y",
                             *sorted({dist["name"] for _, dist in mixed}))]
    commands.append(_conda(facts, "install", "-p", prefix, "--force-reinstall",
                           *sorted({"%s=%s" % (package["name"], package["version"]) for package, _ in mixed})))
    yield warning(
        "installed by both conda and pip: %s" % ", ".join(sorted({dist["name"] for _, dist in mixed})),
        detail="\n".join(lines) + "\npip's files replaced conda's where they share a path, and conda still "
        "believes its version is installed: the next conda update can break the import.",
        fix=fix("Keep conda's copy: uninstall pip's, then let conda put its own files back.", *commands),
        links=(PIP_IN_CONDA,),
    )
