"""Reading the answer declarations: the keys of a TypedDict and their types, the empty value of a type, and the
completion of an answer saved before some of its keys existed."""

from functools import lru_cache
from typing import (Any, Callable, Dict, List, Literal, Mapping, Optional, Tuple, Union, get_args, get_origin,
                    get_type_hints)

NoneType = type(None)


def is_record(declared: Any) -> bool:
    """Whether a declared type is a TypedDict."""
    return isinstance(declared, type) and issubclass(declared, dict) and hasattr(declared, "__required_keys__")


@lru_cache(maxsize=None)
def fields(record: Any) -> Tuple[Tuple[str, Any, bool], ...]:
    """A TypedDict's keys in declaration order: (key, type, required)."""
    required = record.__required_keys__
    return tuple((key, declared, key in required) for key, declared in get_type_hints(record).items())


def blank(declared: Any) -> Any:
    """The declared empty value of a type (the test factories' default for a key a test leaves out): None where
    None is allowed, else an empty string, zero, False, an empty list or mapping, the first of a Literal's values,
    or a record of blank required keys."""
    if is_record(declared):
        return {key: blank(value) for key, value, required in fields(declared) if required}
    origin, arguments = get_origin(declared), get_args(declared)
    if origin is Union:
        return None if NoneType in arguments else blank(arguments[0])
    if origin is Literal:
        return arguments[0]
    if origin is list:
        return []
    if origin is dict:
        return {}
    return {str: "", int: 0, float: 0.0, bool: False}.get(declared)


def complete(declared: Any, value: Any, fill: Optional[Callable[[Any], Any]] = None) -> Any:
    """``value`` with each required key it lacks, at any depth, made explicit: ``fill(type)`` of the key's declared
    type, ``missing`` by default. Keys it has are kept as they are, undeclared ones too (a saved file is evidence,
    not something to correct)."""
    fill = missing if fill is None else fill
    if is_record(declared):
        if not isinstance(value, dict):
            return value
        completed = dict(value)
        for key, field, required in fields(declared):
            if key in value:
                completed[key] = complete(field, value[key], fill)
            elif required:
                completed[key] = fill(field)
        return completed
    origin, arguments = get_origin(declared), get_args(declared)
    if origin is Union:
        variant = closest_variant(arguments, value)
        return value if variant is None else complete(variant, value, fill)
    if origin is list and isinstance(value, list):
        return [complete(arguments[0], item, fill) for item in value]
    if origin is dict and isinstance(value, dict):
        return {key: complete(arguments[1], item, fill) for key, item in value.items()}
    return value


def missing(declared: Any) -> Any:
    """What a key an old answer lacks becomes: an empty list or mapping for a collection, None (unknown) for
    everything else, a record included (checks already read None there as "not known")."""
    origin = get_origin(declared)
    if origin is list:
        return []
    if origin is dict:
        return {}
    return None


def closest_variant(variants: Tuple[Any, ...], value: Any) -> Optional[Any]:
    """The record among a Union's variants that ``value`` is (or was, before keys were added) an instance of:
    its Literal keys agree with the value, and fewest keys are missing or undeclared."""
    if not isinstance(value, dict):
        return None
    candidates: List[Tuple[int, int, Any]] = []
    for position, variant in enumerate(variants):
        if not is_record(variant) or not _literals_agree(variant, value):
            continue
        declared = {key: required for key, _, required in fields(variant)}
        distance = sum(1 for key in value if key not in declared)
        distance += sum(1 for key, required in declared.items() if required and key not in value)
        candidates.append((distance, position, variant))
    return min(candidates)[2] if candidates else None


def _literals_agree(record: Any, value: Mapping[str, Any]) -> bool:
    for key, declared, _ in fields(record):
        allowed = literal_values(declared)
        if allowed is not None and key in value and value[key] not in allowed:
            return False
    return True


def literal_values(declared: Any) -> Optional[Tuple[Any, ...]]:
    """The values a Literal (or an Optional Literal) allows, or None for any other type."""
    origin, arguments = get_origin(declared), get_args(declared)
    if origin is Literal:
        return arguments
    if origin is Union and any(get_origin(argument) is Literal for argument in arguments):
        values: Tuple[Any, ...] = ()
        for argument in arguments:
            values += get_args(argument) if get_origin(argument) is Literal else (None,) if argument is NoneType else ()
        return values
    return None


def record_names(declared: Any, found: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Every TypedDict a declaration uses, by name (a name used for two records raises ValueError)."""
    found = {} if found is None else found
    if is_record(declared):
        known = found.setdefault(declared.__name__, declared)
        if known is not declared:
            raise ValueError("two answer records are named %s" % declared.__name__)
        for _, field, _ in fields(declared):
            record_names(field, found)
    for argument in get_args(declared):
        record_names(argument, found)
    return found
