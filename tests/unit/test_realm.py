"""The demo realm Keycloak imports: generated from the simulator's world, every person a user
whose id (the token's ``sub``) is their member id, the clients the system needs, and no
personal data in the provider."""

from __future__ import annotations

import json
from datetime import date

import pytest

from services.kafka_acls import PUBLISHERS as KAFKA_PUBLISHERS
from services.simulator import realm
from services.simulator.world import build_world


def test_every_person_of_the_demo_worlds_signs_in_as_their_member_id() -> None:
    doc = realm.build_realm()
    users = {u.get("id"): u for u in doc["users"]}
    for world in (
        build_world(),
        build_world(seed=11, zones=6, host_units=4, units=20, start=date(2026, 4, 24)),
    ):
        for z in world.zones:
            for p in z.people:
                user = users[p.member_id]
                assert user["username"] == p.member_id.lower() and user["realmRoles"] == ["zone_member"]
    assert users["PO0001"]["realmRoles"] == ["party_office"] and users["HS0001"]["realmRoles"] == ["hse"]
    # The approvers of the authorization register sign on site too (permits of GB 30871-2022).
    for world in (
        build_world(),
        build_world(seed=11, zones=6, host_units=4, units=20, start=date(2026, 4, 24)),
    ):
        for a in world.register:
            assert users[a.member_id]["username"] == a.member_id.lower()
            assert users[a.member_id]["realmRoles"] == ["zone_member"]


def test_no_personal_data_goes_into_the_provider() -> None:
    text = json.dumps(realm.build_realm(), ensure_ascii=False)
    world = build_world()
    people = [p for z in world.zones for p in z.people]
    assert not [p.name for p in people if p.name in text]
    assert not [p.phone for p in people if p.phone in text]
    assert realm.DEMO_PASSWORD not in text  # only its hash


def test_the_clients_the_system_needs() -> None:
    clients = {c["clientId"]: c for c in realm.build_realm(web_port=8300)["clients"]}
    assert clients[realm.AUDIENCE]["bearerOnly"] is True
    web = clients[realm.WEB_CLIENT]
    assert web["publicClient"] and web["standardFlowEnabled"] and not web["directAccessGrantsEnabled"]
    assert web["attributes"]["pkce.code.challenge.method"] == "S256"
    assert web["redirectUris"] == ["http://127.0.0.1:8300/*", "http://localhost:8300/*"]
    for publisher in realm.PUBLISHERS:
        c = clients[publisher]
        assert c["serviceAccountsEnabled"] and not c["publicClient"] and not c["standardFlowEnabled"]
    assert set(realm.PUBLISHERS) == set(KAFKA_PUBLISHERS)  # the same systems publish on Kafka
    for c in clients.values():
        if c["clientId"] != realm.AUDIENCE:
            mappers = {m["protocolMapper"] for m in c["protocolMappers"]}
            assert mappers == {"oidc-audience-mapper", "oidc-usermodel-realm-role-mapper"}


def test_the_demo_password_is_stored_as_an_argon2id_hash_of_keycloaks_own_strength() -> None:
    """The imported credential checks the demo password with the parameters it declares, and
    they are Keycloak's defaults (anything else is re-hashed at the first sign-in)."""
    from argon2 import PasswordHasher
    from argon2.exceptions import VerifyMismatchError

    credential = realm._password_credential()
    data, secret = json.loads(credential["credentialData"]), json.loads(credential["secretData"])
    assert data["algorithm"] == "argon2" and data["hashIterations"] == 5
    params = {k: v[0] for k, v in data["additionalParameters"].items()}
    assert params == {
        "type": "id",
        "version": "1.3",
        "memory": "7168",
        "parallelism": "1",
        "hashLength": "32",
    }

    def b64(s: str) -> str:
        return s.rstrip("=")

    encoded = (
        f"$argon2id$v=19$m={params['memory']},t={data['hashIterations']},p={params['parallelism']}"
        f"${b64(secret['salt'])}${b64(secret['value'])}"
    )
    assert PasswordHasher().verify(encoded, realm.DEMO_PASSWORD)
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(encoded, realm.DEMO_PASSWORD + "x")
