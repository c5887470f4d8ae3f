"""Who issued a command: the CloudEvents ``authcontext`` extension, read and written once.

A command carries its actor as top-level envelope attributes (the CloudEvents authcontext
extension): ``authtype`` (``user`` for a person, ``service_account`` for an enterprise
system or a service), ``authid`` (a person's OpenID Connect ``sub``, which is their
``member_id``; a system's client id) and optionally ``authclaims`` (a JSON string with the
token's roles: ``{"roles": ["zone_member", "hse", ...]}``). The HTTP layer sets them from the
validated token; a producer on Kafka must set them itself. Domain rules decide with the
:class:`Actor`; a command without one is refused with ``actor_unknown`` unless its ``source``
is a trusted system configured by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .events.envelope import CloudEvent


class AuthType(StrEnum):
    """The values CloudEvents' authcontext extension defines for ``authtype``."""

    USER = "user"
    APP_USER = "app_user"
    SERVICE_ACCOUNT = "service_account"
    API_KEY = "api_key"
    SYSTEM = "system"
    UNAUTHENTICATED = "unauthenticated"
    UNKNOWN = "unknown"


class Actor(BaseModel):
    """The person or system behind a command."""

    model_config = ConfigDict(frozen=True)

    type: AuthType
    id: str = Field(min_length=1)
    roles: frozenset[str] = frozenset()

    @property
    def is_person(self) -> bool:
        return self.type in (AuthType.USER, AuthType.APP_USER)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def extension(self) -> dict[str, str]:
        """The envelope attributes that carry this actor."""
        attrs = {"authtype": self.type.value, "authid": self.id}
        if self.roles:
            attrs["authclaims"] = json.dumps({"roles": sorted(self.roles)}, separators=(",", ":"))
        return attrs


def actor_of(event: CloudEvent, trusted_sources: Iterable[str] = ()) -> Actor | None:
    """The actor a command carries, or None when it carries none (``actor_unknown``).

    A command from a trusted system (its ``source`` configured by name) that carries no
    actor acts as that system."""
    extra: dict[str, Any] = event.model_extra or {}
    authid = extra.get("authid")
    authtype = extra.get("authtype")
    if isinstance(authid, str) and authid and isinstance(authtype, str) and authtype in set(AuthType):
        if authtype in (AuthType.UNAUTHENTICATED, AuthType.UNKNOWN):
            return None
        return Actor(type=AuthType(authtype), id=authid, roles=_roles(extra.get("authclaims")))
    if event.source in set(trusted_sources):
        return Actor(type=AuthType.SYSTEM, id=event.source)
    return None


def may_act_in(zone: Mapping[str, Any] | None, actor: Actor) -> bool:
    """A person acts in the zones whose roster holds them (a zone document or snapshot with
    ``members``); the party office and trusted systems act everywhere."""
    if actor.type == AuthType.SYSTEM or actor.has_role("party_office"):
        return True
    return zone is not None and any(m.get("member_id") == actor.id for m in zone.get("members", []))


def trusted_sources(settings: object) -> tuple[str, ...]:
    """The sources a service's settings trust to send commands without an actor."""
    return tuple(getattr(settings, "trusted_command_sources", None) or ())


def _roles(claims: object) -> frozenset[str]:
    if not isinstance(claims, str):
        return frozenset()
    try:
        parsed = json.loads(claims)
    except ValueError:
        return frozenset()
    roles = parsed.get("roles") if isinstance(parsed, dict) else None
    return frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else frozenset()
