"""The facts part of the report's JSON Schema, generated from the answer declarations.

``python -m doctor.answers.json_schema`` rewrites doctor/schemas/facts.schema.json; a test fails while the file
differs from what the declarations give.
"""

import json
from pathlib import Path
from typing import Any, Dict, Union, get_args, get_origin

from doctor.answers import ANSWERS
from doctor.answers.shapes import NoneType, fields, is_record, literal_values, record_names
from doctor.facts import FACTS_SCHEMA_VERSION
from doctor.outcome import CRASHED, FAILED, GARBAGE, NOT_STARTED, OK, SKIPPED, TIMEOUT

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "facts.schema.json"
SCHEMA_ID = "https://dl-doctor.invalid/schemas/facts.schema.json"
_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", NoneType: "null"}


def type_schema(declared: Any) -> Dict[str, Any]:
    """The JSON Schema of one declared type; records are referenced by name from ``$defs``."""
    if declared is Any:
        return {}
    if is_record(declared):
        return {"$ref": "#/$defs/%s" % declared.__name__}
    if declared in _SIMPLE:
        return {"type": _SIMPLE[declared]}
    allowed = literal_values(declared)
    if allowed is not None:
        return {"const": allowed[0]} if len(allowed) == 1 else {"enum": list(allowed)}
    origin, arguments = get_origin(declared), get_args(declared)
    if origin is Union:
        if all(argument in _SIMPLE for argument in arguments):
            return {"type": [_SIMPLE[argument] for argument in arguments]}
        return {"anyOf": [type_schema(argument) for argument in arguments]}
    if origin is list:
        return {"type": "array", "items": type_schema(arguments[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": type_schema(arguments[1])}
    raise TypeError("no JSON Schema for the declared type %r" % (declared,))


def record_schema(record: Any) -> Dict[str, Any]:
    """A TypedDict as a closed object: its required keys required, no key it does not declare."""
    schema: Dict[str, Any] = {"type": "object"}
    if record.__doc__:
        schema["description"] = " ".join(record.__doc__.split())
    schema["required"] = [key for key, _, required in fields(record) if required]
    schema["properties"] = {key: type_schema(declared) for key, declared, _ in fields(record)}
    schema["additionalProperties"] = False
    return schema


def answer_key(probe: str) -> str:
    """The ``$defs`` entry of a probe's answer."""
    return "answer-" + probe


def _outcome_schema() -> Dict[str, Any]:
    return {
        "description": "A probe's outcome (doctor.outcome.ProbeOutcome): its answer in data when status is ok.",
        "type": "object",
        "required": ["name", "status"],
        "properties": {
            "name": {"type": "string"},
            "status": {"enum": [OK, FAILED, CRASHED, TIMEOUT, GARBAGE, NOT_STARTED, SKIPPED]},
            "data": {"type": ["object", "null"]},
            "reason": {"type": ["string", "null"]},
            "stderr_tail": {"type": "string"},
            "duration_s": {"type": "number"},
            "peak_rss_kb": {"type": ["integer", "null"]},
            "returncode": {"type": ["integer", "null"]},
            "progress": {"type": "array", "items": {"type": "object"}},
        },
    }


def _declared_outcome(probe: str) -> Dict[str, Any]:
    return {"allOf": [
        {"$ref": "#/$defs/probe_outcome"},
        {"if": {"properties": {"status": {"const": OK}}, "required": ["status"]},
         "then": {"properties": {"data": {"$ref": "#/$defs/%s" % answer_key(probe)}}, "required": ["data"]}},
    ]}


def facts_schema() -> Dict[str, Any]:
    """The schema of ``Facts.to_dict()``: each declared probe's outcome carries its declared answer when ok."""
    records: Dict[str, Any] = {}
    for declaration in ANSWERS.values():
        record_names(declaration, records)
    definitions: Dict[str, Any] = {"probe_outcome": _outcome_schema()}
    definitions.update((answer_key(probe), type_schema(declaration)) for probe, declaration in ANSWERS.items())
    definitions.update((name, record_schema(records[name])) for name in sorted(records))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "dl-doctor facts",
        "description": "The facts of a check, bench or dist report (doctor.facts.Facts.to_dict); generated from "
                       "doctor/answers by python -m doctor.answers.json_schema.",
        "type": "object",
        "required": ["facts_schema_version", "python", "cwd", "quick", "lesson", "probes"],
        "properties": {
            "facts_schema_version": {"const": FACTS_SCHEMA_VERSION},
            "python": {"type": "string"},
            "cwd": {"type": "string"},
            "quick": {"type": "boolean"},
            "lesson": {"type": "integer", "minimum": 1},
            "probes": {
                "type": "object",
                "properties": {probe: _declared_outcome(probe) for probe in ANSWERS},
                "additionalProperties": {"$ref": "#/$defs/probe_outcome"},
            },
        },
        "$defs": definitions,
    }


def schema_text() -> str:
    return json.dumps(facts_schema(), indent=2) + "\n"


def main() -> None:
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print("wrote %s" % SCHEMA_FILE)


if __name__ == "__main__":
    main()
