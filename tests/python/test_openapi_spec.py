"""The committed OpenAPI documents pass an independent validator (openapi-spec-validator)."""

import json
import pathlib

import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator, validate

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(name: str) -> dict:
    return json.loads((ROOT / "openapi" / name).read_text())


@pytest.mark.parametrize(
    ("name", "version", "validator"),
    [("openapi-3.0.json", "3.0.3", OpenAPIV30SpecValidator), ("openapi.json", "3.1.0", OpenAPIV31SpecValidator)],
)
def test_spec_is_valid(name: str, version: str, validator: type) -> None:
    spec = load(name)
    assert spec["openapi"] == version
    validate(spec, cls=validator)


def test_every_operation_has_the_house_style() -> None:
    spec = load("openapi-3.0.json")
    ids = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            ids.append(operation["operationId"])
            for field in ("summary", "description", "tags"):
                assert operation.get(field), f"{method} {path} lacks {field}"
            errors = {s for s in operation["responses"] if s[0] in "45"}
            assert "500" in errors, f"{method} {path} does not list its error statuses"
            for status in errors:
                body = operation["responses"][status]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/ErrorBody"}, f"{method} {path} {status} is not the error envelope"
            if operation.get("security") and operation["security"] != [{}]:
                assert "x-scopes" in operation, f"{method} {path} lacks x-scopes"
    assert len(ids) == len(set(ids)), "operationIds are unique"
