# The ops torch's own MPS tests expect to fail, read from the installed torch as data: the target's
# torch/testing/_internal/common_mps.py is found without importing torch, parsed with ast, and only its literal
# lists are evaluated (dicts of OpInfo name -> dtypes, and the macOS-version tests that guard some of them).
# Anything else in the file is ignored; a list this reader cannot evaluate is named as unread, never guessed.
# Sent after python_env.py, whose _apple() gives the macOS version exactly as the python probe reads it.
import ast
import time

try:
    from importlib import metadata as _mps_metadata  # novermin (3.8+)
except ImportError:
    _mps_metadata = None

# The file that holds the lists (torch 2.6 and later; in torch 2.14.1: mps_ops_modifier and
# mps_ops_grad_modifier in torch/testing/_internal/common_mps.py).
_MPS_LIST_FILE = ("testing", "_internal", "common_mps.py")
# The names torch's test code compares the running macOS version with (MACOS_VERSION in 2.14.1, a float
# such as 14.4; product_version in older test_mps.py).
_VERSION_NAMES = ("MACOS_VERSION", "product_version")
_VERSION_OPERATORS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "=="}


def _torch_version():
    try:
        return _mps_metadata.version("torch")
    except Exception:
        return None


def _list_file():
    """(path of common_mps.py or None, why not)."""
    spec, error = _doctor_find_spec("torch")
    if error:
        return None, "looking for torch failed: %s" % error
    if spec is None or not spec.submodule_search_locations:
        return None, "torch is not installed in this interpreter"
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, *_MPS_LIST_FILE)
        if os.path.isfile(path):
            return path, None
    return None, "this torch has no %s (torch 2.6 and later ship it)" % "/".join(("torch",) + _MPS_LIST_FILE)


def _dtype_name(node):
    # torch.float16 -> "float16"; anything else is a dtype this reader does not know.
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "torch":
        return node.attr
    return "?"


def _dtypes(node):
    """None (every dtype), a list of dtype names ("?" for one not read), or "?" when the value is no list."""
    if isinstance(node, ast.Constant) and node.value is None:
        return None
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_dtype_name(element) for element in node.elts]
    return "?"


def _version_test(node):
    """(operator, version text) for ``MACOS_VERSION < 15.0``; "?" for another use of the version; None else."""
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        return None
    names = [side.id for side in (node.left, node.comparators[0]) if isinstance(side, ast.Name)]
    if not any(name in _VERSION_NAMES for name in names):
        return None
    operator, bound = _VERSION_OPERATORS.get(type(node.ops[0])), node.comparators[0]
    if (operator is None or not isinstance(node.left, ast.Name) or not isinstance(bound, ast.Constant)
            or not isinstance(bound.value, (int, float)) or isinstance(bound.value, bool)):
        return "?"
    return [operator, repr(float(bound.value))]


def _membership_list(node):
    """The list name in ``key in NAME``, else None."""
    if (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In)
            and isinstance(node.comparators[0], ast.Name)):
        return node.comparators[0].id
    return None


def _guards(function):
    """List name -> the macOS conditions an ``if key in NAME and MACOS_VERSION < X`` in ``function`` puts on it."""
    guards = {}
    for node in ast.walk(function):
        if not isinstance(node, ast.If):
            continue
        tests = node.test.values if isinstance(node.test, ast.BoolOp) else [node.test]
        lists = [name for name in map(_membership_list, tests) if name]
        versions = [test for test in map(_version_test, tests) if test is not None]
        for name in lists:
            if versions:
                guards.setdefault(name, []).extend(versions)
    return guards


def _lists_in(function):
    guards = _guards(function)
    found, unread = [], []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        name = getattr(target, "id", "")
        # The sparse lists apply to sparse tensors only, which no lesson uses.
        if not ("XFAILLIST" in name or "SKIPLIST" in name) or "SPARSE" in name:
            continue
        if not isinstance(value, ast.Dict):
            if not isinstance(value, ast.Set):  # a set names error-input tests, which take no dtype
                unread.append("%s (line %d): not a dict literal" % (name, node.lineno))
            continue
        entries = {}
        for key, dtypes in zip(value.keys, value.values):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                entries[key.value] = {"dtypes": _dtypes(dtypes), "line": key.lineno}
            else:
                unread.append("%s (line %d): a key that is not a string" % (name, getattr(key, "lineno", node.lineno)))
        conditions = guards.get(name) or []
        if "?" in conditions or (not conditions and name.startswith("MACOS")):
            macos, condition = None, "unknown"
        else:
            macos, condition = (conditions or None), ("macos" if conditions else "always")
        found.append({
            "name": name, "function": function.name, "line": node.lineno,
            "gradient": "grad" in function.name or "GRAD" in name,
            "expectation": "skip" if "SKIPLIST" in name else "fail",
            "condition": condition, "macos": macos, "entries": entries,
        })
    return found, unread


def read_expectations(path):
    """Every list in the file at ``path``, as data; raises OSError, SyntaxError or ValueError when it cannot."""
    with open(path, "rb") as handle:
        source = handle.read().decode("utf-8")
    tree = ast.parse(source, path)
    lists, unread, seen = [], [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            found, problems = _lists_in(node)
            # A list in a nested function is found from each function around it too.
            lists.extend(item for item in found if (item["name"], item["line"]) not in seen)
            unread.extend(problem for problem in problems if problem not in unread)
            seen.update((item["name"], item["line"]) for item in found)
    return lists, unread


def collect(arguments):
    started = time.perf_counter()
    answer = {"torch_version": _torch_version(), "source": None, "status": "unavailable", "reason": None,
              "lists": [], "unread": [], "macos_version": (_apple() or {}).get("macos_version"), "parse_s": None}
    path, reason = _list_file()
    answer["source"] = path
    if path is None:
        answer["reason"] = reason
        return answer
    try:
        lists, unread = read_expectations(path)
    except (OSError, SyntaxError, ValueError) as exc:
        answer["reason"] = "%s cannot be read: %s" % (path, _doctor_error_text(exc))
        return answer
    answer["parse_s"] = time.perf_counter() - started
    if not lists:
        answer["reason"] = "%s holds no expectation list this reader knows (XFAILLIST or SKIPLIST dicts)" % path
        answer["unread"] = unread
        return answer
    answer.update(status="read", lists=lists, unread=unread)
    return answer
