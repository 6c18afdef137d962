"""What torch's own MPS tests expect of the lesson ops, and where a run on a Mac disagrees with them.

Pure functions of the ``mps-expectations`` answer (doctor/answers/mps_expectations.py): each catalogue op is
matched to the OpInfo torch's tests use for it (name plus variant, the key of torch's lists), its dtype, and
whether the lesson needs its gradient; then the lists that name it decide what torch expects on a given macOS
version. A run's measured class that contradicts the expectation is worth a bug report upstream either way.
"""

from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from doctor.results.ops import NATIVE

# Where to report a disagreement: torch's issue chooser (the link torch/optim/lr_scheduler.py gives), and for an op
# with no MPS kernel the "MPS operator coverage tracking issue (2.6+ version)" that MPS's NotImplementedError names.
BUG_REPORT_LINK = "https://github.com/pytorch/pytorch/issues/new/choose"
MPS_COVERAGE_LINK = "https://github.com/pytorch/pytorch/issues/141287"

# Catalogue op -> (the OpInfo key torch's MPS lists use: name + variant_test_name, the dtype the lesson runs it in).
# OpInfo names from torch/testing/_internal/common_methods_invocations.py and opinfo/definitions/linalg.py (2.14.1).
# None: no OpInfo tests that call, so torch's lists say nothing about it.
OPINFO_OF = {
    "linalg.solve": ("linalg.solve", "float32"),
    "linalg.inv": ("linalg.inv", "float32"),
    "linalg.det": ("linalg.det", "float32"),
    "linalg.lstsq": ("linalg.lstsq", "float32"),
    "grid_sample": ("nn.functional.grid_sample", "float32"),
    "affine_grid": None,
    "interpolate.nearest": ("nn.functional.interpolatenearest", "float32"),
    "interpolate.bilinear": ("nn.functional.interpolatebilinear", "float32"),
    "interpolate.bicubic": ("nn.functional.interpolatebicubic", "float32"),
    "conv2d": ("nn.functional.conv2d", "float32"),
    "conv_transpose2d": ("nn.functional.conv_transpose2d", "float32"),
    "max_pool2d": ("nn.functional.max_pool2d", "float32"),
    "avg_pool2d": ("nn.functional.avg_pool2d", "float32"),
    "adaptive_avg_pool2d": ("nn.functional.adaptive_avg_pool2d", "float32"),
    "adaptive_max_pool2d": ("nn.functional.adaptive_max_pool2d", "float32"),
    "batch_norm": ("nn.functional.batch_norm", "float32"),
    "layer_norm": ("nn.functional.layer_norm", "float32"),
    "cross_entropy": ("nn.functional.cross_entropy", "float32"),
    "nll_loss": ("nn.functional.nll_loss", "float32"),
    "binary_cross_entropy_with_logits": ("nn.functional.binary_cross_entropy_with_logits", "float32"),
    "mse_loss": ("nn.functional.mse_loss", "float32"),
    "embedding": ("nn.functional.embedding", "float32"),
    "embedding_bag": ("nn.functional.embedding_bag", "float32"),
    "lstm": None,
    "gru": None,
    "softmax": ("softmax", "float32"),
    "log_softmax": ("log_softmax", "float32"),
    "sort": ("sort", "float32"),
    "topk": ("topk", "float32"),
    "argmax": ("argmax", "float32"),
    # The catalogue feeds integer labels to these two.
    "unique": ("unique", "int64"),
    "bincount": ("bincount", "int64"),
    "nonzero": ("nonzero", "float32"),
    "cumsum": ("cumsum", "float32"),
    "gather": ("gather", "float32"),
    "scatter_add": ("scatter_add", "float32"),
    "index_add": ("index_add", "float32"),
    "masked_select": ("masked_select", "float32"),
    "repeat_interleave": ("repeat_interleave", "float32"),
    "bernoulli": ("bernoulli", "float32"),
    # The bernoulli OpInfo samples floating tensors only; nothing tests bernoulli_ into an int64 tensor.
    "bernoulli_.int64": None,
    "multinomial": ("multinomial", "float32"),
    "randperm": None,
    "matmul.float16": ("matmul", "float16"),
    "matmul.bfloat16": ("matmul", "bfloat16"),
    # Autocast on MPS computes linear in float16.
    "autocast.linear": ("nn.functional.linear", "float16"),
    # The "double" OpInfo is the conversion to float64, which MPS lacks.
    "float64": ("double", "float32"),
}

# What torch expects of an op: verdicts, best first for the learner.
PASSES = "passes"
UNTESTED = "untested"
MAY_FAIL = "may fail"
FAILS = "fails"
NO_OPINFO = "no OpInfo"

# The measured class that contradicts an expected failure; every other class (the fallback too: the op has no MPS
# kernel) contradicts an expected pass.
_WORKS_ON_THE_DEVICE = (NATIVE,)


@dataclass(frozen=True)
class ListMatch:
    """One list of torch's that names the op in the lesson's dtype."""

    list_name: str
    line: int  # of the op's entry in the file
    gradient: bool
    expectation: str  # fail or skip
    when: str  # "always", "macOS < 15.0", "an unread condition"
    applies: Optional[bool]  # on the macOS version asked about; None when that cannot be told


@dataclass(frozen=True)
class OpExpectation:
    op: str
    lessons: Tuple[int, ...]
    opinfo: Optional[str]
    dtype: Optional[str]
    verdict: str  # PASSES, UNTESTED, MAY_FAIL, FAILS or NO_OPINFO
    matches: Tuple[ListMatch, ...]

    @property
    def when(self) -> str:
        """On which macOS versions the op is expected to fail: "always", "macOS < 15.0", ...; "" when never."""
        return "; ".join(sorted({m.when for m in self.matches if m.expectation == "fail" and m.applies is not False}))

    def to_dict(self) -> Mapping[str, Any]:
        return {"op": self.op, "lessons": list(self.lessons), "opinfo": self.opinfo, "dtype": self.dtype,
                "torch_expects": self.verdict, "when": self.when,
                "lists": [{"list": m.list_name, "line": m.line, "gradient": m.gradient,
                           "expectation": m.expectation, "when": m.when, "applies": m.applies}
                          for m in self.matches]}


def macos_float(version: Optional[str]) -> Optional[float]:
    """"14.3.1" -> 14.3, as torch's tests compare (common_utils.MACOS_VERSION: float of major.minor)."""
    if not version:
        return None
    try:
        return float(".".join(version.split(".")[:2]))
    except ValueError:
        return None


def _holds(condition: Sequence[str], macos: float) -> Optional[bool]:
    operator, bound = condition
    try:
        limit = float(bound)
    except ValueError:
        return None
    return {"<": macos < limit, "<=": macos <= limit, ">": macos > limit, ">=": macos >= limit,
            "==": macos == limit}.get(operator)


def _when_and_applies(listed: Mapping[str, Any], macos: Optional[float]) -> Tuple[str, Optional[bool]]:
    if listed.get("condition") == "always":
        return "always", True
    conditions = listed.get("macos") or []
    if listed.get("condition") != "macos" or not conditions:
        return "an unread condition", None
    when = "macOS " + " and ".join("%s %s" % (operator, bound) for operator, bound in conditions)
    if macos is None:
        return when, None
    held = [_holds(condition, macos) for condition in conditions]
    return when, (None if None in held else all(held))


def _dtype_listed(dtypes: Any, dtype: str) -> Optional[bool]:
    if dtypes is None:
        return True
    if not isinstance(dtypes, list):
        return None
    return True if dtype in dtypes else (None if "?" in dtypes else False)


def _matches(answer: Mapping[str, Any], key: str, dtype: str, backward: bool,
             macos: Optional[float]) -> List[ListMatch]:
    found = []
    for listed in answer.get("lists") or []:
        entry = (listed.get("entries") or {}).get(key)
        if entry is None or (listed.get("gradient") and not backward):
            continue
        in_dtype = _dtype_listed(entry.get("dtypes"), dtype)
        if in_dtype is False:
            continue
        when, applies = _when_and_applies(listed, macos)
        if in_dtype is None and applies:
            applies = None
        found.append(ListMatch(str(listed.get("name")), int(entry.get("line") or listed.get("line") or 0),
                               bool(listed.get("gradient")), str(listed.get("expectation")), when, applies))
    return found


def _verdict(matches: Sequence[ListMatch]) -> str:
    failing = [m.applies for m in matches if m.expectation == "fail"]
    if True in failing:
        return FAILS
    if None in failing:
        return MAY_FAIL
    if any(m.applies is not False for m in matches if m.expectation == "skip"):
        return UNTESTED
    return PASSES


def expectations(answer: Mapping[str, Any], ops: Sequence[Tuple[str, Sequence[int], bool]],
                 macos_version: Optional[str] = None) -> List[OpExpectation]:
    """What torch's MPS lists expect of each catalogue op ``(name, lessons, needs its gradient)`` on
    ``macos_version`` (None: any; an op failing on some versions is then MAY_FAIL, with the versions in ``when``)."""
    macos = macos_float(macos_version)
    found = []
    for name, lessons, backward in ops:
        mapped = OPINFO_OF.get(name)
        if mapped is None:
            found.append(OpExpectation(name, tuple(lessons), None, None, NO_OPINFO, ()))
            continue
        key, dtype = mapped
        matches = tuple(_matches(answer, key, dtype, backward, macos))
        found.append(OpExpectation(name, tuple(lessons), key, dtype, _verdict(matches), matches))
    return found


@dataclass(frozen=True)
class Disagreement:
    op: str
    measured: str  # the op's class in the run
    expected: str  # FAILS or PASSES
    sentence: str
    link: str


def disagreement(expectation: OpExpectation, measured: str) -> Optional[Disagreement]:
    """Where the run on a Mac contradicts torch's own expectation for this macOS version; None where it agrees,
    or where torch's lists cannot tell (no OpInfo, an unread condition, an unread dtype, a skipped test)."""
    failing = [m for m in expectation.matches if m.expectation == "fail" and m.applies]
    if expectation.verdict == FAILS and measured in _WORKS_ON_THE_DEVICE:
        listed = failing[0]
        return Disagreement(expectation.op, measured, FAILS,
                            "torch's MPS tests expect %s (%s, %s) to fail here (%s, line %d of common_mps.py); it "
                            "ran natively and matched the CPU: torch's list may be out of date, worth a report"
                            % (expectation.op, expectation.opinfo, expectation.dtype, listed.list_name, listed.line),
                            BUG_REPORT_LINK)
    if expectation.verdict == PASSES and measured not in _WORKS_ON_THE_DEVICE:
        missing = measured in ("unsupported", "fallback")
        return Disagreement(expectation.op, measured, PASSES,
                            "torch's MPS tests expect %s (%s, %s) to work on MPS; here it is %s: worth a report%s"
                            % (expectation.op, expectation.opinfo, expectation.dtype, measured,
                               " on the MPS operator coverage issue" if missing else ""),
                            MPS_COVERAGE_LINK if missing else BUG_REPORT_LINK)
    return None


def annotated(records: Sequence[Mapping[str, Any]], answer: Mapping[str, Any],
              ops: Sequence[Tuple[str, Sequence[int], bool]]) -> List[Mapping[str, Any]]:
    """An MPS run's op records, each catalogue op's with ``torch_expects``: torch's verdict for the macOS version
    the answer names, on which versions it fails, and the disagreement with the measurement (sentence and link)."""
    expected = {e.op: e for e in expectations(answer, ops, answer.get("macos_version"))}
    marked = []
    for record in records:
        expectation = expected.get(str(record.get("op")))
        if expectation is None:
            marked.append(record)
            continue
        differs = disagreement(expectation, str(record.get("class")))
        marked.append(dict(record, torch_expects={
            "verdict": expectation.verdict, "when": expectation.when, "opinfo": expectation.opinfo,
            "disagreement": differs.sentence if differs else None, "link": differs.link if differs else None}))
    return marked
