"""A JSON Schema for every event type, generated from the catalogue's pydantic models.

Each schema describes the whole CloudEvents envelope as it travels on Kafka (structured JSON
mode): the context attributes this system uses — the distributed-tracing extension
(``traceparent``, ``tracestate``) and the authcontext of commands included — and ``data`` as
the payload model of the type. ``docs/schemas/<type>.json`` holds them (draft 2020-12) with an
``index.json``; a unit test fails when they are stale. The same schemas give the AsyncAPI
document of every service its payloads (:func:`with_payloads`).

    python -m shared.events.schemas            # rewrite docs/schemas/
    python -m shared.events.schemas --check    # exit 1 when stale
"""

from __future__ import annotations

import copy
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from .catalog import REGISTRY, EventSpec, Topic

DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
TRACEPARENT = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


def _attributes(event_type: str) -> dict[str, Any]:
    text = {"type": "string", "minLength": 1}
    return {
        "specversion": {"const": "1.0"},
        "id": {**text, "description": "With source, the identity consumers deduplicate on."},
        "type": {"const": event_type},
        "source": text,
        "time": {"type": "string", "format": "date-time", "pattern": AWARE, "description": "With an offset."},
        "subject": {"type": "string"},
        "datacontenttype": {"type": "string"},
        "correlationid": {"type": "string", "description": "The first cause's id, carried."},
        "causationid": {"type": "string", "description": "The id of the event that caused this one."},
        "traceparent": {
            "type": "string",
            "pattern": TRACEPARENT,
            "description": "CloudEvents distributed-tracing extension: the W3C trace context.",
        },
        "tracestate": {"type": "string", "description": "Distributed-tracing extension: vendor state."},
        "authtype": {"type": "string", "description": "authcontext extension: who issued a command."},
        "authid": {"type": "string", "description": "authcontext: the person's sub or the system's id."},
        "authclaims": {"type": "string", "description": 'authcontext: JSON, {"roles": [...]}.'},
    }


# The catalogue's times are aware (AwareDatetime): an offset is required, as RFC 3339 says.
AWARE = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$"


def _aware(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _aware(v) for k, v in node.items()}
        if out.get("format") == "date-time" and "pattern" not in out:
            out["pattern"] = AWARE
        return out
    if isinstance(node, list):
        return [_aware(v) for v in node]
    return node


def _data(spec: EventSpec, ref_template: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payload schema and the nested models it refers to."""
    schema = _aware(spec.model.model_json_schema(ref_template=ref_template))
    defs = schema.pop("$defs", {})
    return schema, defs


def envelope_schema(spec: EventSpec, ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    """The envelope of one type, nested models under ``$defs`` (for a stand-alone file)."""
    data, defs = _data(spec, ref_template)
    doc = inspect.getdoc(spec.model) or ""
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"{spec.type}.json",
        "title": spec.type,
        "description": f"`{spec.type}` on `{spec.topic.value}` ({spec.model.__name__}). {doc}".strip(),
        "type": "object",
        "required": ["specversion", "id", "type", "source", "time", "data"],
        "properties": {**_attributes(spec.type), "data": data},
        "additionalProperties": True,
    }
    if defs:
        schema["$defs"] = defs
    return schema


def render() -> dict[str, str]:
    """File name -> content of every schema and the index."""
    files: dict[str, str] = {}
    index: dict[str, Any] = {}
    for event_type in sorted(REGISTRY):
        spec = REGISTRY[event_type]
        files[f"{event_type}.json"] = _dump(envelope_schema(spec))
        index[event_type] = {"topic": spec.topic.value, "schema": f"{event_type}.json"}
    files["index.json"] = _dump({"topics": [t.value for t in Topic], "types": index})
    return files


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def with_payloads(asyncapi: dict[str, Any]) -> dict[str, Any]:
    """An AsyncAPI 3 document whose every message names the envelopes its channel carries."""
    doc = copy.deepcopy(asyncapi)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    messages = components.setdefault("messages", {})
    for channel in doc.get("channels", {}).values():
        types = sorted(t for t, s in REGISTRY.items() if s.topic.value == channel.get("address"))
        if not types:
            continue
        for event_type in types:
            if event_type not in schemas:
                schema = envelope_schema(REGISTRY[event_type], "#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schema.pop("$schema", None)
                schema.pop("$id", None)
                schemas[event_type] = schema
        payload = {"oneOf": [{"$ref": f"#/components/schemas/{t}"} for t in types]}
        for ref in channel.get("messages", {}).values():
            name = ref.get("$ref", "").rsplit("/", 1)[-1]
            if name in messages:
                messages[name]["payload"] = payload
                messages[name]["contentType"] = "application/cloudevents+json"
    return doc


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        present = {p.name for p in DIR.glob("*.json")} if DIR.exists() else set()
        stale = [n for n, text in files.items() if not (DIR / n).exists() or (DIR / n).read_text() != text]
        extra = sorted(present - set(files))
        if stale or extra:
            print(
                f"{DIR} is stale ({len(stale)} differ, {len(extra)} unknown): run `python -m shared.events.schemas`",
                file=sys.stderr,
            )
            return 1
        return 0
    DIR.mkdir(parents=True, exist_ok=True)
    for old in DIR.glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (DIR / name).write_text(text)
    print(f"wrote {len(files)} files to {DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
