"""The API's request bodies and the test drivers derive from the command definitions,
and the HTTP contract (paths, parameters, body fields) is what it was before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ruswf.api.schemas import ACTION_BODIES, ProposeBody, body_model
from ruswf.domain.commands import COMMANDS, Propose, Submit, fields_of, spec
from tests.domain.driver import example_body, example_input

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi-contract.json"


def contract(schema: dict[str, Any]) -> dict[str, Any]:
    """Each operation's parameters and body fields (names and which are required)."""
    components = schema["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = components[node["$ref"].split("/")[-1]]
        for option in node.get("anyOf", []):
            if "$ref" in option or option.get("type") == "object":
                return resolve(option)
        return node

    operations: dict[str, Any] = {}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            entry: dict[str, Any] = {
                "parameters": sorted(p["name"] for p in operation.get("parameters", []))
            }
            if "requestBody" in operation:
                body = resolve(operation["requestBody"]["content"]["application/json"]["schema"])
                entry["body"] = sorted(body.get("properties", {}))
                entry["required"] = sorted(body.get("required", []))
            operations[f"{method.upper()} {path}"] = entry
    return operations


def test_every_operation_before_the_redesign_keeps_its_parameters_and_body_fields(
    client: TestClient,
) -> None:
    """The snapshot was taken from the schema before the commands became data. Every
    operation in it is still there with its parameters and body fields, and requires
    nothing more; later features may add operations and optional fields (the people
    registry's `reminders` and `language`), never take one away."""
    before = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    now = contract(client.get("/openapi.json").json())
    missing = sorted(op for op in before if op not in now)
    assert missing == []
    for op, old in before.items():
        new = now[op]
        assert set(old["parameters"]) <= set(new["parameters"]), op
        assert set(old.get("body", [])) <= set(new.get("body", [])), op
        assert new.get("required", []) == old.get("required", []), op


def test_every_action_body_has_exactly_its_commands_fields_and_a_business_date() -> None:
    for action, command in COMMANDS.items():
        expected = {f.name for f in fields_of(command)} | {"effective_date"}
        assert set(ACTION_BODIES[action.value].model_fields) == expected, action


def test_the_propose_body_has_the_content_fields_of_the_propose_command() -> None:
    assert list(ProposeBody.model_fields) == [f.name for f in fields_of(Propose, with_date=True)]


class SubmitWithTag(Submit):
    """`Submit` with one field more: the change a new field is."""

    tag: str = spec("Etikett", "Tag", max_length=40, example="prio")


def test_a_field_added_to_a_command_appears_in_its_api_body_and_its_test_input() -> None:
    body = body_model(SubmitWithTag)
    assert body.model_fields["tag"].is_required()
    assert body.model_validate({"tag": "prio"}).model_dump()["tag"] == "prio"
    with pytest.raises(ValueError, match="at most 40"):
        body.model_validate({"tag": "x" * 41})
    assert example_input(SubmitWithTag) == {**example_input(Submit), "tag": "prio"}


def test_the_drivers_bodies_are_the_definitions_examples() -> None:
    for action, command in COMMANDS.items():
        assert (
            example_body(action).items()
            >= {k: v for k, v in example_input(command).items() if v is not None}.items()
        )
