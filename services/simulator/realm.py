"""The OpenID Connect realm of the demo, generated from the simulator's world and imported by
Keycloak at start (``deploy/local/infra.sh``; compose mounts ``deploy/keycloak/pbz-realm.json``).

Who is in it:

- the demo's people: every member id the worlds hand out (``MB0001``...), each a user whose
  ``id`` — the token's ``sub`` — is that member id, with the role ``zone_member``; what they
  may do in a zone comes from the zone's roster, not from the token;
- the approvers of the enterprise's authorization register (GB 30871-2022 Table B.1:
  ``R-EL01``, ``R-PM-H01``...), also ``zone_member``: they sign on site, and what they may
  approve comes from the register, not from the token;
- the party office (``PO0001``, ``PO0002``: ``party_office``), HSE managers (``HS0001``:
  ``hse``) and the operator who may rebuild a service's store (``OP0001``: ``operator``,
  ``pbz replay``);
- one client-credentials client per enterprise publisher (``pm-system``, ``hse-system``,
  ``quality-system``) with the role ``integrator:<system>``.

Clients: ``pbz-services`` is the audience every token carries (the services accept no other);
``pbz-web`` is the coming web app's public client (authorization code + PKCE S256, redirect
URIs on port 8000 + offset); ``pbz-cli`` lets the demo's people sign in with a password (the
simulator, and a person with ``curl``); ``pbz-expiry-check`` issues tokens that live two
seconds, so the test suite can show an expired token refused.

No personal data goes into the provider: users carry their member id only (no name, phone
or e-mail), and every demo user shares one published demo password, stored as an Argon2id
hash computed here once (so the import costs no hashing per user) with the algorithm and the
parameters Keycloak itself hashes new passwords with (argon2, type id, 7 MiB, 5 iterations,
parallelism 1; OWASP's recommended minimum). A credential of any other algorithm or strength
is re-hashed by Keycloak at the person's first sign-in: a PBKDF2-SHA512 import cost every first
sign-in 0.36 s (PBKDF2's check, then Argon2 and a write) against 0.09–0.10 s for this one.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw

from .world import build_world

REALM = "pbz"
AUDIENCE = "pbz-services"
WEB_CLIENT = "pbz-web"
CLI_CLIENT = "pbz-cli"
EXPIRY_CLIENT = "pbz-expiry-check"
DEMO_PASSWORD = "pbz-demo"
PUBLISHERS = {"pm-system": "ent.projects", "hse-system": "ent.safety", "quality-system": "ent.quality"}
PARTY_OFFICE = ("PO0001", "PO0002")
HSE = ("HS0001",)
OPERATORS = ("OP0001",)
# Member ids are handed out in sequence (MB0001...): every world up to this many people fits.
MIN_MEMBERS = 600
ROLES = ("party_office", "hse", "operator", "zone_member", *(f"integrator:{p}" for p in PUBLISHERS))
# A fixed salt: the demo password is published anyway; one hash serves every demo user.
_SALT = b"pbz-demo-realm-1"
# Keycloak's own defaults for new passwords (its provider "argon2"); a stored credential that
# differs from them is re-hashed at its first use.
ARGON2_ITERATIONS, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM, ARGON2_HASH_LENGTH = 5, 7168, 1, 32


def publisher_secret(client_id: str) -> str:
    """The demo secret of a publisher's client (local and compose demo only)."""
    return f"{client_id}-demo-secret"


def member_ids(count: int) -> list[str]:
    return [f"MB{n:04d}" for n in range(1, count + 1)]


def _password_credential() -> dict[str, Any]:
    digest = hash_secret_raw(
        DEMO_PASSWORD.encode(),
        _SALT,
        time_cost=ARGON2_ITERATIONS,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=ARGON2_HASH_LENGTH,
        type=Type.ID,
        version=0x13,
    )
    secret = {"value": base64.b64encode(digest).decode(), "salt": base64.b64encode(_SALT).decode()}
    # As Keycloak writes them: each a list of one string.
    parameters = {
        "type": ["id"],
        "version": ["1.3"],
        "memory": [str(ARGON2_MEMORY_KIB)],
        "parallelism": [str(ARGON2_PARALLELISM)],
        "hashLength": [str(ARGON2_HASH_LENGTH)],
    }
    return {
        "type": "password",
        "secretData": json.dumps({**secret, "additionalParameters": {}}),
        "credentialData": json.dumps(
            {"hashIterations": ARGON2_ITERATIONS, "algorithm": "argon2", "additionalParameters": parameters}
        ),
    }


def _mappers() -> list[dict[str, Any]]:
    """Every token: audience ``pbz-services`` and a flat ``roles`` claim of realm roles."""
    return [
        {
            "name": "pbz-services audience",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {
                "included.client.audience": AUDIENCE,
                "access.token.claim": "true",
                "id.token.claim": "false",
            },
        },
        {
            "name": "roles",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-usermodel-realm-role-mapper",
            "config": {
                "claim.name": "roles",
                "multivalued": "true",
                "jsonType.label": "String",
                "access.token.claim": "true",
                "id.token.claim": "false",
                "userinfo.token.claim": "false",
            },
        },
    ]


def _clients(web_origins: list[str]) -> list[dict[str, Any]]:
    off = {"standardFlowEnabled": False, "implicitFlowEnabled": False, "directAccessGrantsEnabled": False}
    clients: list[dict[str, Any]] = [
        {"clientId": AUDIENCE, "name": "The services (audience only)", "enabled": True, "bearerOnly": True},
        {
            "clientId": WEB_CLIENT,
            "name": "Web app (authorization code + PKCE)",
            "enabled": True,
            "publicClient": True,
            **off,
            "standardFlowEnabled": True,
            "redirectUris": [f"{o}/*" for o in web_origins],
            "webOrigins": web_origins,
            "attributes": {
                "pkce.code.challenge.method": "S256",
                "post.logout.redirect.uris": "##".join(f"{o}/*" for o in web_origins),
            },
            "protocolMappers": _mappers(),
        },
        {
            "clientId": CLI_CLIENT,
            "name": "Demo people signing in with a password (simulator, curl)",
            "enabled": True,
            "publicClient": True,
            **off,
            "directAccessGrantsEnabled": True,
            "protocolMappers": _mappers(),
        },
        {
            "clientId": EXPIRY_CLIENT,
            "name": "Tokens that live 2 s (the test suite shows an expired token refused)",
            "enabled": True,
            "publicClient": True,
            **off,
            "directAccessGrantsEnabled": True,
            "attributes": {"access.token.lifespan": "2"},
            "protocolMappers": _mappers(),
        },
    ]
    for client_id, topic in PUBLISHERS.items():
        clients.append(
            {
                "clientId": client_id,
                "name": f"Enterprise publisher of {topic}",
                "enabled": True,
                "publicClient": False,
                "clientAuthenticatorType": "client-secret",
                "secret": publisher_secret(client_id),
                **off,
                "serviceAccountsEnabled": True,
                "protocolMappers": _mappers(),
            }
        )
    return clients


def approver_ids() -> list[str]:
    """The register's approvers of the demo world (a smaller world's are among them)."""
    return sorted({a.member_id for a in build_world().register})


def _users(members: list[str]) -> list[dict[str, Any]]:
    credential = _password_credential()

    def person(user_id: str, role: str) -> dict[str, Any]:
        return {
            "id": user_id,
            "username": user_id.lower(),
            "enabled": True,
            "credentials": [credential],
            "realmRoles": [role],
        }

    users = [person(m, "zone_member") for m in members]
    users += [person(p, "party_office") for p in PARTY_OFFICE]
    users += [person(h, "hse") for h in HSE]
    users += [person(o, "operator") for o in OPERATORS]
    users += [
        {
            "username": f"service-account-{client_id}",
            "enabled": True,
            "serviceAccountClientId": client_id,
            "realmRoles": [f"integrator:{client_id}"],
        }
        for client_id in PUBLISHERS
    ]
    return users


def _user_profile() -> dict[str, Any]:
    """Keycloak's user profile with only the username required: the users carry no name or
    e-mail (Keycloak's default profile requires them, and would refuse a password sign-in
    with "Account is not fully set up")."""
    perm = {"view": ["admin", "user"], "edit": ["admin", "user"]}
    name_rules = {"length": {"max": 255}, "person-name-prohibited-characters": {}}
    config = {
        "attributes": [
            {
                "name": "username",
                "displayName": "${username}",
                "validations": {
                    "length": {"min": 3, "max": 255},
                    "username-prohibited-characters": {},
                    "up-username-not-idn-homograph": {},
                },
                "permissions": perm,
                "multivalued": False,
            },
            {
                "name": "email",
                "displayName": "${email}",
                "validations": {"email": {}, "length": {"max": 255}},
                "permissions": perm,
                "multivalued": False,
            },
            {
                "name": "firstName",
                "displayName": "${firstName}",
                "validations": name_rules,
                "permissions": perm,
                "multivalued": False,
            },
            {
                "name": "lastName",
                "displayName": "${lastName}",
                "validations": name_rules,
                "permissions": perm,
                "multivalued": False,
            },
        ],
        "groups": [{"name": "user-metadata", "displayHeader": "User metadata"}],
    }
    return {
        "org.keycloak.userprofile.UserProfileProvider": [
            {
                "providerId": "declarative-user-profile",
                "subComponents": {},
                "config": {"kc.user.profile.config": [json.dumps(config, separators=(",", ":"))]},
            }
        ]
    }


def build_realm(web_port: int = 8000, members: int | None = None) -> dict[str, Any]:
    """The realm as Keycloak imports it. ``web_port``: the web app's port (8000 + offset)."""
    people = len(build_world().people)  # the twins' people too (the old route's offices)
    count = max(MIN_MEMBERS, people, members or 0)
    web_origins = [f"http://127.0.0.1:{web_port}", f"http://localhost:{web_port}"]
    return {
        "realm": REALM,
        "displayName": "Party-building collaboration zones (demo)",
        "enabled": True,
        "sslRequired": "external",
        "accessTokenLifespan": 900,
        "registrationAllowed": False,
        "resetPasswordAllowed": False,
        "loginWithEmailAllowed": False,
        "roles": {"realm": [{"name": r} for r in ROLES]},
        "clients": _clients(web_origins),
        "users": _users([*member_ids(count), *approver_ids()]),
        "components": _user_profile(),
    }


def write_realm(path: Path, web_port: int = 8000, members: int | None = None) -> bool:
    """Write the realm file; True when its content changed (Keycloak must import it anew)."""
    text = json.dumps(build_realm(web_port, members), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True
