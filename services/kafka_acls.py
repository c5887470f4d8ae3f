"""Kafka's own authorization for the SASL/SCRAM profile: one principal per service and per
enterprise publisher, and what each may read and write — derived from the services'
definitions, so the ACLs follow the code.

    python -m services.kafka_acls            # one line per grant, read by deploy/local/infra.sh

A line is ``consumer <principal> <group prefix> <topic>...`` or ``producer <principal> <topic>...``:
a service reads the topics it consumes and its own work topic (in its own consumer groups) and
writes its events topic, its work topic (follow-ups, and commands re-keyed to their
aggregate), the DLQ, its own command topic (its HTTP layer publishes the commands) and the
clock (with the wall clock every instance publishes ``clock.ticked`` on ``pbz.clock``); each
publisher writes only its own ``ent.*`` topic; ``site-app`` (people's terminals, the
simulator) writes commands and ``pbz-clock`` the clock. Only services write ``pbz.*.events``
and ``pbz.*.work``.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events import Topic

PUBLISHERS = {"pm-system": Topic.PROJECTS, "hse-system": Topic.SAFETY, "quality-system": Topic.QUALITY}
COMMANDS = (Topic.ZONE_COMMANDS, Topic.ACTIVITY_COMMANDS, Topic.PERMIT_COMMANDS, Topic.ASSESSMENT_COMMANDS)


@dataclass(frozen=True)
class Grant:
    role: str  # consumer | producer
    principal: str
    topics: tuple[str, ...]
    group: str | None = None

    def line(self) -> str:
        head = [self.role, self.principal] + ([self.group] if self.group else [])
        return " ".join([*head, *self.topics])


def principals() -> list[str]:
    from services.activity_log.app import definition as al
    from services.assessment.app import definition as asm
    from services.permit_fasttrack.app import definition as pf
    from services.zone_registry.app import definition as zr

    return [d.title for d in (zr, al, pf, asm)] + [*PUBLISHERS, "site-app", "pbz-clock"]


def grants() -> list[Grant]:
    from services.activity_log.app import definition as al
    from services.assessment.app import definition as asm
    from services.permit_fasttrack.app import definition as pf
    from services.zone_registry.app import definition as zr

    out: list[Grant] = []
    for d in (zr, al, pf, asm):
        work = [d.work_topic] if d.work_topic is not None else []
        reads = dict.fromkeys([*d.consumes, *work])
        out.append(Grant("consumer", d.title, tuple(t.value for t in reads), group=f"pbz-{d.title}"))
        own_commands = [t for t in d.consumes if t in COMMANDS]
        writes = dict.fromkeys([*d.emits, *work, Topic.DLQ, *own_commands, Topic.CLOCK])
        out.append(Grant("producer", d.title, tuple(t.value for t in writes)))
    for client, topic in PUBLISHERS.items():
        out.append(Grant("producer", client, (topic.value,)))
    out.append(Grant("producer", "site-app", tuple(t.value for t in COMMANDS)))
    out.append(Grant("producer", "pbz-clock", (Topic.CLOCK.value,)))
    return out


def demo_password(principal: str) -> str:
    """The local profile's password of a principal (bound to 127.0.0.1; never for production)."""
    return f"{principal}-kafka-demo"


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["principals"]:
        print("\n".join(principals()))
    else:
        print("\n".join(g.line() for g in grants()))
