"""The actor of a command: the CloudEvents authcontext extension, read back as written, and
readable by the official CloudEvents SDK."""

from __future__ import annotations

from datetime import UTC, datetime

from cloudevents.core.bindings import kafka as ce_kafka

from shared.actor import Actor, AuthType, actor_of
from shared.events import CONTENT_TYPE, CloudEvent, make_event


def command(**extension: str) -> CloudEvent:
    base = make_event(
        type="permit.resume",
        source="pbz/permit-fasttrack/http",
        time=datetime(2026, 4, 1, tzinfo=UTC),
        data={"permit_id": "WP-1", "member_id": "M-1"},
    )
    return CloudEvent.model_validate({**base.model_dump(mode="json"), **extension})


def test_an_actor_round_trips_through_the_envelope_and_the_sdk_reads_it() -> None:
    actor = Actor(type=AuthType.USER, id="M-00042", roles=frozenset({"zone_member", "hse"}))
    event = command(**actor.extension())
    assert actor_of(event) == actor
    sdk = ce_kafka.from_kafka_event(
        ce_kafka.KafkaMessage(
            headers={"content-type": CONTENT_TYPE.encode()}, key=None, value=event.to_json()
        )
    )
    attrs = sdk.get_attributes()
    assert attrs["authtype"] == "user" and attrs["authid"] == "M-00042"
    assert '"hse"' in attrs["authclaims"]


def test_no_actor_unless_the_source_is_trusted() -> None:
    event = command()
    assert actor_of(event) is None
    system = actor_of(event, trusted_sources=["pbz/permit-fasttrack/http"])
    assert system is not None and system.type == AuthType.SYSTEM and system.id == "pbz/permit-fasttrack/http"


def test_unauthenticated_or_malformed_claims_carry_no_powers() -> None:
    assert actor_of(command(authtype="unauthenticated", authid="x")) is None
    assert actor_of(command(authtype="nonsense", authid="x")) is None
    odd = actor_of(command(authtype="user", authid="M-1", authclaims="{not json"))
    assert odd is not None and odd.roles == frozenset()
