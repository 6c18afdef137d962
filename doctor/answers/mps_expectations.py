"""The ``mps-expectations`` probe's answer (probes/programs/mps_expectations.py): the lists of ops torch's own MPS
tests expect to fail or skip, read from the installed torch's ``torch/testing/_internal/common_mps.py`` as data.

``dl-doctor ops`` runs this probe by itself (``--predict``, and beside an op run on MPS); ``check`` does not, so
it is no fact of a check report and is not among ``doctor.answers.ANSWERS``.
"""

from typing import Dict, List, Literal, Optional, TypedDict, Union

# None: every dtype; a list of torch dtype names ("float16"; "?" for an element the reader could not evaluate);
# the string "?" when the value is not a list at all.
Dtypes = Union[List[str], str, None]


class Entry(TypedDict):
    dtypes: Dtypes
    line: int  # of the op's key in the file


class ExpectationList(TypedDict):
    name: str  # UNIMPLEMENTED_XFAILLIST, MACOS_BEFORE_15_0_XFAILLIST, XFAILLIST_GRAD, SKIPLIST, ...
    function: str  # mps_ops_modifier (forward) or mps_ops_grad_modifier (gradients)
    line: int
    gradient: bool  # the list judges gradients (the op's backward), not the forward result
    expectation: Literal["fail", "skip"]  # an expected failure, or an op dtype torch's tests leave out
    # always; macos: only on the macOS versions ``macos`` gives (each [operator, version], all must hold);
    # unknown: the file guards the list with a test this reader could not evaluate.
    condition: Literal["always", "macos", "unknown"]
    macos: Optional[List[List[str]]]
    entries: Dict[str, Entry]  # OpInfo name + variant test name -> its dtypes


class MpsExpectationsAnswer(TypedDict):
    torch_version: Optional[str]  # from the distribution's metadata; torch is never imported
    source: Optional[str]  # the common_mps.py read, or None when there is none
    status: Literal["read", "unavailable"]
    reason: Optional[str]  # why nothing can be predicted, when status is "unavailable"
    lists: List[ExpectationList]
    unread: List[str]  # the parts of the file that look like lists but could not be evaluated
    macos_version: Optional[str]  # sw_vers -productVersion, as the python probe reads it; None off macOS
    parse_s: Optional[float]  # how long finding, reading and parsing the file took in the child
