"""JSON Schemas of the event types (docs/schemas/, generated from the catalogue, never
stale) accept every valid example envelope and refuse the invalid ones; every service's
AsyncAPI document names the envelope schemas of every channel it subscribes or publishes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from services.activity_log.app import definition as activity_log
from services.assessment.app import definition as assessment
from services.permit_fasttrack.app import definition as permit_fasttrack
from services.zone_registry.app import definition as zone_registry
from shared.events import REGISTRY, make_event
from shared.events.schemas import DIR, main, render
from shared.service import Runtime
from tests.unit.examples import EXTENDED, INVALID, VALID

TIME = datetime.fromisoformat("2026-03-02T07:40:00+08:00")
DEFINITIONS = [zone_registry, activity_log, permit_fasttrack, assessment]


def envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    event = make_event(
        type=event_type,
        source="test",
        time=TIME,
        subject="Z-1",
        data=data,
        extensions={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )
    return json.loads(event.to_json())


def validator(event_type: str) -> Draft202012Validator:
    schema = json.loads((DIR / f"{event_type}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def test_docs_schemas_are_generated_from_the_catalogue() -> None:
    assert main(["--check"]) == 0, "docs/schemas is stale: run `python -m shared.events.schemas`"
    assert set(render()) == {f"{t}.json" for t in REGISTRY} | {"index.json"}


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_every_valid_example_envelope_is_valid_against_its_schema(event_type: str) -> None:
    errors = list(validator(event_type).iter_errors(envelope(event_type, VALID[event_type])))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize(("event_type", "data", "word"), INVALID, ids=[f"{t}-{w}" for t, _, w in INVALID])
def test_invalid_examples_are_refused_by_the_schema(event_type: str, data: dict[str, Any], word: str) -> None:
    errors = list(validator(event_type).iter_errors(envelope(event_type, data)))
    assert errors, f"{event_type}: the schema accepts data the catalogue refuses ({word})"


@pytest.mark.parametrize(
    ("event_type", "data", "word"), EXTENDED, ids=[f"{t}-{w or 'valid'}" for t, _, w in EXTENDED]
)
def test_optional_fields_agree_with_the_catalogue(
    event_type: str, data: dict[str, Any], word: str | None
) -> None:
    valid = validator(event_type).is_valid(envelope(event_type, data))
    assert valid is (word is None), f"{event_type}: schema and catalogue disagree ({word})"


def test_the_envelope_itself_is_checked() -> None:
    v = validator("clock.ticked")
    good = envelope("clock.ticked", {"now": "2026-03-02T07:40:00+08:00"})
    assert v.is_valid(good)
    assert not v.is_valid({**good, "type": "zone.closed"})
    assert not v.is_valid({k: x for k, x in good.items() if k != "id"})
    assert not v.is_valid({**good, "traceparent": "not-a-trace"})


@pytest.mark.parametrize("definition", DEFINITIONS, ids=[d.title for d in DEFINITIONS])
def test_asyncapi_names_the_payload_of_every_subscriber_and_publisher(definition: Any) -> None:
    doc = Runtime(definition, definition.settings_cls()).asyncapi().to_jsonable()
    schemas = doc["components"]["schemas"]
    topics_seen = set()
    for channel in doc["channels"].values():
        address = channel["address"]
        wanted = {t for t, s in REGISTRY.items() if s.topic.value == address}
        for ref in channel["messages"].values():
            message = doc["components"]["messages"][ref["$ref"].rsplit("/", 1)[-1]]
            named = {r["$ref"].rsplit("/", 1)[-1] for r in message["payload"]["oneOf"]}
            assert named == wanted, address
            topics_seen.add(address)
    assert {t.value for t in definition.consumes} <= topics_seen
    assert {t.value for t in definition.emits} | {"pbz.dlq"} <= topics_seen
    # Every reference resolves inside the document.
    for name, s in schemas.items():
        for ref in _refs(s):
            assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[-1] in schemas, (name, ref)
    assert doc["asyncapi"].startswith("3.")


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
