"""The event contract in code: every type round-trips; every invalid example says why."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest
from cloudevents.core.bindings import kafka as ce_kafka

from shared.events import (
    CONTENT_TYPE,
    REGISTRY,
    UnreadableEvent,
    decode_envelope,
    derived_event_id,
    make_event,
    parse_data,
    spec_for,
)
from shared.events.catalog import ALL_TOPICS, Topic
from tests.unit.examples import EXTENDED, INVALID, VALID

TIME = datetime.fromisoformat("2026-03-02T07:40:00+08:00")


def test_every_catalogue_type_has_a_valid_and_an_invalid_example() -> None:
    assert set(VALID) == set(REGISTRY)
    assert {t for t, _, _ in INVALID} == set(REGISTRY)


def test_topics_are_the_catalogue_topics() -> None:
    assert set(ALL_TOPICS) == {
        "ent.projects",
        "ent.safety",
        "ent.quality",
        "pbz.zone.commands",
        "pbz.activity.commands",
        "pbz.permit.commands",
        "pbz.assessment.commands",
        "pbz.clock",
        "pbz.zone.events",
        "pbz.activity.events",
        "pbz.permit.events",
        "pbz.permit.work",
        "pbz.assessment.events",
        "pbz.zone.work",
        "pbz.activity.work",
        "pbz.assessment.work",
        "pbz.dlq",
    }
    assert spec_for("permit-work.apply").topic is Topic.PERMIT_WORK
    assert spec_for("work.planned").topic is Topic.PROJECTS
    assert spec_for("safety.gas-test-recorded").topic is Topic.SAFETY
    assert spec_for("permit.sla-breached").topic is Topic.PERMIT_EVENTS


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_valid_example_round_trips(event_type: str) -> None:
    event = make_event(
        type=event_type,
        source="test",
        time=TIME,
        subject="P-NAN1-1",
        correlationid="corr-1",
        causationid="cause-1",
        data=VALID[event_type],
    )
    raw = event.to_json()
    decoded = decode_envelope(raw)
    assert decoded == event
    payload = parse_data(decoded, expected_topic=spec_for(event_type).topic.value)
    again = type(payload).model_validate(payload.model_dump(mode="json"))
    assert again == payload
    # Nothing the sender put in that the contract declares is lost.
    dumped = payload.model_dump(mode="json")
    for key in VALID[event_type]:
        assert key in dumped


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_every_event_reads_cleanly_with_the_official_cloudevents_sdk(event_type: str) -> None:
    event = make_event(
        type=event_type,
        source="pbz/test",
        time=TIME,
        correlationid="corr-1",
        causationid="cause-1",
        data=parse_data(
            make_event(type=event_type, source="t", time=TIME, data=VALID[event_type])
        ).model_dump(mode="json", exclude_none=True),
    )
    message = ce_kafka.KafkaMessage(
        headers={"content-type": CONTENT_TYPE.encode()}, key=b"Z-1", value=event.to_json()
    )
    read = ce_kafka.from_kafka_event(message)
    attrs = read.get_attributes()
    assert attrs["specversion"] == "1.0"
    assert attrs["id"] == event.id
    assert attrs["type"] == event_type
    assert attrs["source"] == "pbz/test"
    assert attrs["correlationid"] == "corr-1"
    assert attrs["causationid"] == "cause-1"
    assert read.get_time() == TIME
    data = read.get_data()
    assert (orjson.loads(data) if isinstance(data, bytes | str) else data) == event.data


@pytest.mark.parametrize(("event_type", "data", "word"), INVALID, ids=[f"{t}:{w}" for t, _, w in INVALID])
def test_invalid_example_gets_a_readable_reason(event_type: str, data: dict, word: str) -> None:
    event = make_event(type=event_type, source="test", time=TIME, data=data)
    with pytest.raises(UnreadableEvent) as err:
        parse_data(decode_envelope(event.to_json()))
    assert err.value.kind == "invalid_payload"
    assert word in err.value.reason, err.value.reason
    assert "data." in err.value.reason  # says where


@pytest.mark.parametrize(
    ("raw", "kind", "word"),
    [
        (b"", "empty", "no value"),
        (b"\x00\xffgarbage", "not_json", "not JSON"),
        (b"[1, 2]", "bad_envelope", "list"),
        (
            orjson.dumps(
                {"specversion": "1.0", "type": "x", "source": "s", "time": "2026-03-02T07:40:00+08:00"}
            ),
            "bad_envelope",
            "id",
        ),
        (
            orjson.dumps(
                {"specversion": "1.0", "id": "1", "type": "x", "source": "s", "time": "2026-03-02T07:40:00"}
            ),
            "bad_envelope",
            "time",
        ),
        (
            orjson.dumps(
                {"specversion": "0.3", "id": "1", "type": "x", "source": "s", "time": "2026-03-02T07:40:00Z"}
            ),
            "bad_envelope",
            "specversion",
        ),
    ],
)
def test_unreadable_envelopes_say_why(raw: bytes, kind: str, word: str) -> None:
    with pytest.raises(UnreadableEvent) as err:
        decode_envelope(raw)
    assert err.value.kind == kind
    assert word in err.value.reason


def test_unknown_type_and_wrong_topic_are_named() -> None:
    unknown = make_event(type="project.teleported", source="s", time=TIME, data={})
    with pytest.raises(UnreadableEvent) as err:
        parse_data(unknown)
    assert err.value.kind == "unknown_type" and "project.teleported" in err.value.reason
    misplaced = make_event(type="work.planned", source="s", time=TIME, data=VALID["work.planned"])
    with pytest.raises(UnreadableEvent) as err:
        parse_data(misplaced, expected_topic="ent.safety")
    assert err.value.kind == "wrong_topic" and "ent.projects" in err.value.reason


def test_derived_ids_are_stable_and_distinct() -> None:
    a = derived_event_id("zone-registry", "cause", 0)
    assert a == derived_event_id("zone-registry", "cause", 0)
    assert (
        len({a, derived_event_id("zone-registry", "cause", 1), derived_event_id("activity-log", "cause", 0)})
        == 3
    )


def test_integers_beyond_64_bits_in_extra_fields_still_encode() -> None:
    event = make_event(
        type="clock.ticked", source="s", time=TIME, data={"now": "2026-03-02T07:40:00+08:00", "big": 2**70}
    )
    assert decode_envelope(event.to_json()).data["big"] == float(2**70)


@pytest.mark.parametrize(
    ("event_type", "data", "word"), EXTENDED, ids=[f"{t}:{w or 'valid'}" for t, _, w in EXTENDED]
)
def test_optional_fields_added_to_base_types(event_type: str, data: dict, word: str | None) -> None:
    """Issue 19's optional fields on types of EVENTS.md: valid when well-formed, named when not
    (the base examples above, without them, stay valid)."""
    event = make_event(type=event_type, source="test", time=TIME, data=data)
    if word is None:
        payload = parse_data(decode_envelope(event.to_json()))
        dumped = payload.model_dump(mode="json")
        assert all(key in dumped for key in data)
        return
    with pytest.raises(UnreadableEvent) as err:
        parse_data(decode_envelope(event.to_json()))
    assert word in err.value.reason, err.value.reason
