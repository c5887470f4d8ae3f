"""The project's own contract document, ``docs/events.md``, generated from the catalogue.

``../shared/spec/EVENTS.md`` is the base contract; this document is what the code declares:
every topic, every event type, every field with its type and whether it is required, the
reason codes, and each payload's docstring (the rule it carries, in the standard's words
where one applies). A unit test fails when the file and the catalogue disagree.

    python -m shared.events.docs            # rewrite docs/events.md
    python -m shared.events.docs --check    # exit 1 when it is stale
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
from enum import Enum
from pathlib import Path

from pydantic import BaseModel

from .catalog import DOCUMENTED_VOCABULARIES, REGISTRY, Topic

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"

HEADER = """# Event contract (generated)

Generated from the catalogue in `shared/events` by `python -m shared.events.docs`; a unit test
keeps it in step. `../shared/spec/EVENTS.md` is the base contract: every type there is here,
with the same topic and fields; what this project adds is marked by being absent there.
Every value is a CloudEvents 1.0 envelope in structured JSON mode; the tables below describe
its `data`. `?` marks an optional field.
"""


def type_name(annotation: object) -> str:
    """A readable name for a field's annotation: ``list[RiskType]``, ``str?`` and so on."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        return " | ".join(names)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        inner = ", ".join(type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _models_in(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> None:
    """Nested models a payload refers to, documented once each."""
    for field in model.model_fields.values():
        for arg in _flatten(field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg.__name__ not in seen:
                seen[arg.__name__] = arg
                _models_in(arg, seen)


def _flatten(annotation: object) -> list[object]:
    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    out: list[object] = []
    for a in args:
        out += _flatten(a)
    return out


def _enums_in(model: type[BaseModel], seen: dict[str, type[Enum]]) -> None:
    for field in model.model_fields.values():
        for arg in _flatten(field.annotation):
            if isinstance(arg, type) and issubclass(arg, Enum):
                seen.setdefault(arg.__name__, arg)


def field_table(model: type[BaseModel]) -> list[str]:
    rows = ["| field | type | note |", "|---|---|---|"]
    for name, field in model.model_fields.items():
        optional = "?" if not field.is_required() else ""
        note = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{name}{optional}` | {type_name(field.annotation)} | {note} |")
    return rows


def _doc(model: type[BaseModel]) -> str:
    text = inspect.getdoc(model) or ""
    inherited = [inspect.getdoc(b) for b in model.__mro__[1:]]
    return "" if text in inherited else text


def render() -> str:
    lines = [HEADER]
    nested: dict[str, type[BaseModel]] = {}
    enums: dict[str, type[Enum]] = {}
    for topic in Topic:
        specs = [s for s in REGISTRY.values() if s.topic == topic]
        if not specs:
            continue
        lines.append(f"## `{topic.value}`\n")
        for spec in specs:
            model = spec.model
            lines.append(f"### `{spec.type}` — `{model.__name__}`\n")
            if doc := _doc(model):
                lines.append(doc + "\n")
            lines += field_table(model)
            lines.append("")
            _models_in(model, nested)
            _enums_in(model, enums)
    if nested:
        lines.append("## Nested objects\n")
        for name in sorted(nested):
            lines.append(f"### `{name}`\n")
            if doc := _doc(nested[name]):
                lines.append(doc + "\n")
            lines += field_table(nested[name])
            lines.append("")
            _enums_in(nested[name], enums)
    for extra in DOCUMENTED_VOCABULARIES:
        enums.setdefault(extra.__name__, extra)
    if enums:
        lines.append("## Vocabularies and reason codes\n")
        for name in sorted(enums):
            enum = enums[name]
            lines.append(f"### `{name}`\n")
            doc = inspect.getdoc(enum) or ""
            if doc and doc != inspect.getdoc(Enum) and not doc.startswith("An enumeration"):
                lines.append(doc + "\n")
            lines.append(", ".join(f"`{m.value}`" for m in enum))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is stale: run `python -m shared.events.docs`", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
