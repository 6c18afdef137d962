"""torch.load settings that stop fastai loading what it saved: the TORCH_FORCE_WEIGHTS_ONLY_LOAD variable, and
torch >= 2.6's ``weights_only=True`` default against a fastai that predates it. No export file is needed."""

from packaging.version import Version

from doctor.findings import error, fix, ok, skipped, warning
from doctor.registry import check

from .commands import CMD, POWERSHELL, install_fix, learner_shell

FORCE_ON = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"
FORCE_OFF = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
# torch/serialization.py load(): os.getenv(NAME, "0").lower() in ["1", "y", "yes", "true"]
TRUE_VALUES = ("1", "y", "yes", "true")
# torch/serialization.py load(): weights_only=True with an explicit pickle_module raises this; fastai's
# load_learner always passes pickle_module (fastai/learner.py).
EXPLICIT_PICKLE_ERROR = "Can not safely load weights when explicit pickle_module is specified"
# torch 2.6 release notes: torch.load defaults to weights_only=True.
WEIGHTS_ONLY_DEFAULT_TORCH = Version("2.6")
# Read from fastai's wheels: 2.7.19 is the first whose load_model (learn.load, lr_find) loads under
# safe_globals([L, numpy scalars]) and whose load_learner passes weights_only=False on torch >= 2.6.
FASTAI_LOAD_MODEL_SAFE = Version("2.7.19")
# fastai 2.8.4 is the first passing weights_only=False in SaveModelCallback's reload (fastai PR #4118) and the
# text learner's load_model_text / load_pretrain, which lr_find uses there (fastai PR #4120).
FASTAI_WEIGHTS_ONLY_FIXED = Version("2.8.4")


def is_set(value) -> bool:
    return value is not None and str(value).lower() in TRUE_VALUES


def _unset_commands(facts, name):
    """Each shell's own way to unset a variable for this session: cmd's ``set NAME=`` means nothing to PowerShell."""
    shell = learner_shell(facts)
    return ("Remove-Item Env:%s" % name,) if shell == POWERSHELL else ("set %s=" % name,) if shell == CMD \
        else ("unset %s" % name,)


@check("torch-weights-only-variable", "TORCH_FORCE_WEIGHTS_ONLY_LOAD is not set (fastai's load_learner fails "
                                      "under it)", needs=("python",),
       reads=('packages',), topic="torch_load", suites=("check", "learner"))
def torch_weights_only_variable(facts):
    variables = facts.data("python").get("environment_variables") or {}
    on, off = variables.get(FORCE_ON), variables.get(FORCE_OFF)
    if is_set(on) and is_set(off):
        yield error("%s and %s are both set: every torch.load fails" % (FORCE_ON, FORCE_OFF),
                    detail="torch raises \"Only one of `%s` or `%s` should be set, but both were set.\""
                    % (FORCE_ON, FORCE_OFF),
                    fix=fix("Unset both (where they are set: shell profile, conda env vars, kernelspec env):",
                            *(_unset_commands(facts, FORCE_ON) + _unset_commands(facts, FORCE_OFF))))
    elif is_set(on):
        fastai = facts.distribution("fastai")
        made = error if fastai is not None else warning
        yield made("%s=%s stops fastai's load_learner: \"%s\"" % (FORCE_ON, on, EXPLICIT_PICKLE_ERROR),
                   detail="torch forces weights_only=True for every torch.load; fastai's load_learner passes "
                          "pickle_module, which torch then refuses%s." % (
                              " (fastai %s is installed)" % fastai.version if fastai else ""),
                   fix=fix("Unset it before starting Python or Jupyter (where it is set: shell profile, conda env "
                           "vars, kernelspec env), then restart the kernel:", *_unset_commands(facts, FORCE_ON)))
    else:
        yield ok("%s is not set" % FORCE_ON)


@check("fastai-weights-only", "fastai passes weights_only=False where torch >= 2.6's default would refuse its files",
       needs=("packages",), reads=('torch', 'python'), topic="torch_load", suites=("check", "learner"))
def fastai_weights_only(facts):
    fastai, build = facts.distribution("fastai"), facts.derived.torch_build
    if fastai is None or build is None or fastai.parsed_version is None or build.parsed_version is None:
        yield skipped("needs both fastai and torch installed")
        return
    torch_version = Version(build.parsed_version.base_version)
    if torch_version < WEIGHTS_ONLY_DEFAULT_TORCH or fastai.parsed_version >= FASTAI_WEIGHTS_ONLY_FIXED:
        yield ok("fastai %s and torch %s agree on torch.load's weights_only" % (fastai.version, build.version))
        return
    if fastai.parsed_version < FASTAI_LOAD_MODEL_SAFE:
        broken = ("learn.load, lr_find and SaveModelCallback(with_opt=True) fail with \"Weights only load failed "
                  "... Unsupported global: GLOBAL fastcore.foundation.L\"")
    else:
        broken = ("SaveModelCallback(with_opt=True) and the text learner's lr_find and load_pretrain fail with "
                  "\"Weights only load failed\"")
    yield warning("fastai %s predates torch %s's weights_only default: %s"
                  % (fastai.version, build.version, broken.split(" fail")[0] + " fail"),
                  detail="torch >= 2.6 loads with weights_only=True unless told otherwise; %s. load_learner "
                         "itself still loads (it passes pickle_module)." % broken,
                  fix=install_fix(facts, "Upgrade fastai to %s or later:" % FASTAI_WEIGHTS_ONLY_FIXED,
                                  "fastai>=%s" % FASTAI_WEIGHTS_ONLY_FIXED),
                  links=("https://github.com/fastai/fastai/pull/4118", "https://github.com/fastai/fastai/pull/4120"))
