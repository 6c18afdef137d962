"""The report's JSON Schema as a validator needs it: doctor/schemas/report.schema.json, with the facts schema it
references by ``$ref`` (doctor/schemas/facts.schema.json, generated from doctor/answers) registered beside it."""

import json
from importlib import resources

import jsonschema
from referencing import Registry, Resource


def shipped_schema(name):
    return json.loads((resources.files("doctor") / "schemas" / name).read_text(encoding="utf-8"))


REPORT_SCHEMA = shipped_schema("report.schema.json")
FACTS_SCHEMA = shipped_schema("facts.schema.json")
SCHEMAS = Registry().with_resource(FACTS_SCHEMA["$id"], Resource.from_contents(FACTS_SCHEMA))


def report_validator():
    return jsonschema.Draft202012Validator(REPORT_SCHEMA, registry=SCHEMAS, format_checker=jsonschema.FormatChecker())
