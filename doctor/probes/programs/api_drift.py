# Lesson API drift, run inside the "imports" probe after the lesson's import statements (one child, so the
# libraries are imported once): looks up each call a lesson's notebooks make and reads which keywords its
# signature accepts. Nothing is called, nothing is trained, nothing touches the network. No judgement here.
import importlib
import inspect

try:
    from importlib import metadata as _drift_metadata  # novermin (3.8+)
except ImportError:
    _drift_metadata = None


def _drift_version(distribution, module):
    try:
        return _drift_metadata.version(distribution)
    except Exception:
        return getattr(module, "__version__", None)


def _drift_resolve(module, top, target):
    """Walk ``target`` attribute by attribute; a missing attribute may be a submodule not imported yet."""
    found = module
    path = top
    for part in target.split("."):
        path = path + "." + part
        try:
            found = getattr(found, part)
            continue
        except AttributeError:
            pass
        except Exception as exc:
            return None, part, _doctor_error(exc)
        if not inspect.ismodule(found):
            return None, part, None
        try:
            found = importlib.import_module(path)
        except ImportError:
            return None, part, None
        except Exception as exc:
            return None, part, _doctor_error(exc)
    return found, None, None


def _drift_callable(found):
    """The function whose signature the call meets: a class's __init__, else the object itself."""
    if inspect.isclass(found):
        return found.__init__
    return found


def _drift_wrapper_names(function):
    # A decorator that renames a keyword (transformers' deprecate_kwarg, utils/deprecation.py) keeps the old
    # name in its closure while the unwrapped signature shows only the new one.
    names = set()
    if getattr(function, "__wrapped__", None) is None:
        return names
    try:
        nonlocals = inspect.getclosurevars(function).nonlocals
    except Exception:
        return names
    for value in nonlocals.values():
        if isinstance(value, str):
            names.add(value)
    return names


def _drift_parameters(found):
    """(names a call may pass by keyword, whether **kwargs takes any other, how that was read, error)."""
    fields = getattr(found, "__dataclass_fields__", None)
    if inspect.isclass(found) and isinstance(fields, dict):
        # A dataclass's fields are its keywords (transformers' TrainingArguments is one).
        names = [name for name, field in fields.items() if getattr(field, "init", True)]
        return names, False, "dataclass fields", None
    try:
        signature = inspect.signature(found)
    except (TypeError, ValueError) as exc:
        return None, None, "no signature", _doctor_error(exc)
    names = []
    any_keyword = False
    for parameter in signature.parameters.values():
        if parameter.kind == parameter.VAR_KEYWORD:
            any_keyword = True
        elif parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            names.append(parameter.name)
    return names, any_keyword, "signature", None


def _drift_check_call(call):
    top = call["module"].split(".")[0]
    record = {"code": call["code"], "module": call["module"], "target": call["target"], "installed": False,
              "version": None, "import_error": None, "missing": None, "lookup_error": None,
              "keywords": {}, "how": None, "signature_error": None}
    if not _doctor_module_found(top):
        return record
    record["installed"] = True
    try:
        module = importlib.import_module(call["module"])
    except BaseException as exc:
        record["import_error"] = _doctor_error(exc)
        return record
    record["version"] = _drift_version(call.get("distribution") or top, module)
    found, missing, error = _drift_resolve(module, call["module"], call["target"])
    if found is None:
        record["missing"] = missing
        record["lookup_error"] = error
        return record
    keywords = call.get("keywords") or []
    if not keywords:
        return record
    names, any_keyword, how, error = _drift_parameters(found)
    record["how"] = how
    record["signature_error"] = error
    if names is None:
        record["keywords"] = dict((keyword, "unknown") for keyword in keywords)
        return record
    renamed = _drift_wrapper_names(_drift_callable(found))
    for keyword in keywords:
        if keyword in names:
            state = "accepted"
        elif keyword in renamed:
            state = "deprecated"
        elif any_keyword:
            # **kwargs takes any keyword; what it does with one is not in the signature.
            state = "unknown"
        else:
            state = "rejected"
        record["keywords"][keyword] = state
    return record


def _drift_check_calls(calls):
    results = []
    for call in calls:
        try:
            results.append(_drift_check_call(call))
        except BaseException as exc:
            results.append({"code": call.get("code"), "module": call.get("module"), "target": call.get("target"),
                            "installed": None, "probe_error": _doctor_error(exc)})
    return results
