"""core.access and service.users: roles, refusals, tokens kept as hashes."""

from __future__ import annotations

import pytest

from stockwatch.core.access import (
    GRANTS,
    AccessError,
    Action,
    Principal,
    Role,
    check_user,
    token_hash,
)
from stockwatch.service.users import authenticate, new_token
from stockwatch.web.auth import SignInLimiter, action_of


def test_each_role_does_what_the_issue_says() -> None:
    assert GRANTS[Role.ADMIN] == frozenset(Action)
    assert GRANTS[Role.MANAGER] == {
        Action.READ,
        Action.THRESHOLDS,
        Action.ACKNOWLEDGE,
        Action.MUTE,
        Action.SUBSCRIBE,
        Action.ORDER,  # what to order (#30): settings and orders are a manager's
    }
    # Everyone may have their own digests; others' subscriptions are an admin's.
    assert GRANTS[Role.STORE] == {Action.READ, Action.UPLOAD, Action.SUBSCRIBE}
    assert GRANTS[Role.VIEWER] == {Action.READ, Action.SUBSCRIBE}
    viewer = Principal("vic", Role.VIEWER)
    assert viewer.refusal(Action.UPLOAD) == (
        "vic is a viewer, and a viewer may not upload inventory files"
    )
    assert Principal("s", Role.STORE, frozenset({"Berlin"})).sees("Berlin")
    assert not Principal("s", Role.STORE, frozenset({"Berlin"})).sees("Karachi")
    assert Principal("m", Role.MANAGER).sees("Karachi")


@pytest.mark.parametrize(
    ("name", "role", "stores", "message"),
    [
        ("ana smith", "manager", [], "user name"),
        ("ana", "owner", [], "choose one of admin, manager, store, viewer"),
        ("root", "admin", ["Berlin"], "an admin has every store"),
        ("shop", "store", [], "needs its stores"),
    ],
)
def test_bad_users_say_why(name: str, role: str, stores: list[str], message: str) -> None:
    with pytest.raises(AccessError, match=message):
        check_user(name, role, stores)


def test_tokens_are_random_and_kept_as_hashes() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert token.startswith("sw_") and len(token) >= 3 + 43  # 256 bits, base64
    assert token_hash(token) != token and len(token_hash(token)) == 64


def test_the_bootstrap_token_signs_in_as_the_admin() -> None:
    assert authenticate(None, "a-long-bootstrap-token", "a-long-bootstrap-token") == Principal(
        "admin", Role.ADMIN, personal=False
    )
    assert authenticate(None, "a-long-bootstrap-token", "a-long-bootstrap-tokeN") is None
    assert authenticate(None, "a-long-bootstrap-token", None) is None


def test_every_route_has_an_action_and_unknown_writes_are_an_admins() -> None:
    assert action_of("GET", "/api/stock") is Action.READ
    assert action_of("POST", "/api/uploads") is Action.UPLOAD
    assert action_of("POST", "/api/uploads/3/confirm") is Action.UPLOAD
    assert action_of("PUT", "/api/thresholds.csv") is Action.THRESHOLDS
    assert action_of("POST", "/api/alerts/7/ack") is Action.ACKNOWLEDGE
    assert action_of("DELETE", "/api/mutes") is Action.MUTE
    assert action_of("GET", "/api/users") is Action.USERS
    assert action_of("POST", "/api/something-new") is Action.USERS


def test_failed_sign_ins_are_slowed_per_client() -> None:
    limiter = SignInLimiter(limit=3, window=60)
    for _ in range(3):
        assert limiter.wait("10.0.0.1") == 0
        limiter.failed("10.0.0.1")
    assert 0 < limiter.wait("10.0.0.1") <= 60
    assert limiter.wait("10.0.0.2") == 0  # another client is not held up
    waits = []
    for _ in range(5):  # each further failure waits twice as long
        limiter.failed("10.0.0.1")
        waits.append(limiter.wait("10.0.0.1"))
    assert waits == sorted(waits) and waits[-1] >= 4 * waits[0] > 0


def test_cognito_claims_map_to_a_role_and_stores() -> None:
    from stockwatch.core.access import principal_from_claims

    # API Gateway renders a list claim as "[a b]"; a JSON list and commas are taken too.
    ana = principal_from_claims(
        {
            "cognito:username": "ana",
            "cognito:groups": "[viewer manager]",
            "custom:stores": "Berlin, Köln",
        }
    )
    assert ana == Principal("ana", Role.MANAGER, frozenset({"Berlin", "Köln"}))
    verified: dict[str, object] = {
        "email": "bo@example.com",
        "email_verified": "true",
        "cognito:groups": ["viewer"],
    }
    assert principal_from_claims(verified) == (
        Principal("bo@example.com", Role.VIEWER, email="bo@example.com")  # every store
    )
    store = principal_from_claims({"sub": "x", "cognito:groups": "store"})
    assert store is not None and store.stores == frozenset()  # a store user with none sees none
    admin = principal_from_claims(
        {"sub": "x", "cognito:groups": "admin,store", "custom:stores": "A"}
    )
    assert admin == Principal("x", Role.ADMIN)  # the most powerful group; an admin has all
    assert principal_from_claims({"sub": "x", "cognito:groups": "[cashiers]"}) is None
    assert principal_from_claims({"sub": "x"}) is None


def test_a_cognito_address_counts_only_once_verified() -> None:
    """#26: "notify me" trusted the email claim without email_verified."""
    from stockwatch.core.access import principal_from_claims

    claims: dict[str, object] = {
        "cognito:groups": "[manager]",
        "email": "ana@example.com",
        "cognito:username": "a",
    }
    unverified = principal_from_claims(claims)
    verified = principal_from_claims({**claims, "email_verified": "true"})
    assert unverified is not None and unverified.email is None
    assert verified is not None and verified.email == "ana@example.com"
