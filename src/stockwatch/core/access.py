"""Who may do what: the four roles, a signed-in principal, and tokens kept only as hashes.

A role grants actions; a principal may also be limited to a list of stores (``stores``;
``None`` is every store). Tokens are 256 random bits, so a plain SHA-256 of one is as good
as a slow password hash: nobody can guess a preimage, and the lookup by hash stays an index
seek. The database never holds a token, only its hash.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # everything, users included
    MANAGER = "manager"  # reads, thresholds, acknowledgements, mutes and ordering
    STORE = "store"  # uploads and reads for its own stores
    VIEWER = "viewer"  # reads


class Action(StrEnum):
    READ = "read"
    UPLOAD = "upload"
    THRESHOLDS = "thresholds"
    ACKNOWLEDGE = "acknowledge"
    MUTE = "mute"
    USERS = "users"
    AUDIT = "audit"
    SUBSCRIBE = "subscribe"  # one's own digests; others' subscriptions are an admin's
    ORDER = "order"  # ordering settings and the orders placed


GRANTS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.MANAGER: frozenset(
        {
            Action.READ,
            Action.THRESHOLDS,
            Action.ACKNOWLEDGE,
            Action.MUTE,
            Action.SUBSCRIBE,
            Action.ORDER,
        }
    ),
    Role.STORE: frozenset({Action.READ, Action.UPLOAD, Action.SUBSCRIBE}),
    Role.VIEWER: frozenset({Action.READ, Action.SUBSCRIBE}),
}
# What a refusal says the action is, after "may not".
DOING = {
    Action.READ: "read stock",
    Action.UPLOAD: "upload inventory files",
    Action.THRESHOLDS: "change thresholds or store settings",
    Action.ACKNOWLEDGE: "acknowledge alerts",
    Action.MUTE: "mute items",
    Action.USERS: "manage users",
    Action.AUDIT: "read the audit trail",
    Action.SUBSCRIBE: "subscribe to alerts",
    Action.ORDER: "change ordering settings or orders",
}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
TOKEN_PREFIX = "sw_"  # noqa: S105  # a prefix, not a secret: it marks a stockwatch token


class AccessError(ValueError):
    """A user cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    stores: frozenset[str] | None = None  # None: every store
    personal: bool = True  # False for a token several people share: it names nobody
    email: str | None = None  # known from a Cognito sign-in; else the user's, looked up

    def may(self, action: Action) -> bool:
        return action in GRANTS[self.role]

    def sees(self, store: str) -> bool:
        return self.stores is None or store in self.stores

    def refusal(self, action: Action) -> str:
        return (
            f"{self.name} is a {self.role.value}, and a {self.role.value} may not {DOING[action]}"
        )


def check_user(name: str, role: str, stores: list[str]) -> tuple[Role, frozenset[str] | None]:
    """The role and store scope of a new user, or why it cannot be made."""
    if not NAME.match(name):
        raise AccessError(
            f"user name {name!r}: use 1 to 64 letters, digits and . _ @ - (starting with a"
            " letter or digit)"
        )
    try:
        chosen = Role(role)
    except ValueError:
        raise AccessError(
            f"role {role!r}: choose one of {', '.join(r.value for r in Role)}"
        ) from None
    scope = frozenset(s.strip() for s in stores if s.strip())
    if chosen is Role.ADMIN and scope:
        raise AccessError("an admin has every store; leave out --store")
    if chosen is Role.STORE and not scope:
        raise AccessError("a store user needs its stores: --store NAME (once per store)")
    return chosen, scope or None


# The Cognito groups named after the roles; someone in several has the most powerful.
_RANK = (Role.ADMIN, Role.MANAGER, Role.STORE, Role.VIEWER)
GROUPS_CLAIM, STORES_CLAIM = "cognito:groups", "custom:stores"


def _claim_list(value: object) -> list[str]:
    """A list claim as API Gateway's HTTP API passes it: a JSON list, or (how it renders a
    list into the authorizer context) ``[admin manager]``, or a comma-separated string."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if not isinstance(value, str):
        return []
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part.strip() for part in re.split(r"[,\s]+", text) if part.strip()]


def principal_from_claims(claims: dict[str, object]) -> Principal | None:
    """Who a verified JWT (Cognito's ID token, checked by API Gateway's authorizer) names:
    the role from its groups, the stores from its ``custom:stores`` attribute (comma-
    separated; absent: every store, except for a store user, who then has none). None when
    the person is in no stockwatch group: signed in, but given nothing here."""
    groups = set(_claim_list(claims.get(GROUPS_CLAIM)))
    role = next((r for r in _RANK if r.value in groups), None)
    if role is None:
        return None
    name = next(
        (
            str(claims[k])
            for k in ("cognito:username", "username", "email", "sub")
            if isinstance(claims.get(k), str) and claims[k]
        ),
        "cognito user",
    )
    listed = frozenset(
        s.strip() for s in str(claims.get(STORES_CLAIM) or "").split(",") if s.strip()
    )
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    if str(claims.get("email_verified", "")).lower() != "true":
        email = None  # an address its owner never proved: "notify me" will not mail it
    if role is Role.ADMIN or (not listed and role is not Role.STORE):
        return Principal(name, role, email=str(email) if email else None)
    return Principal(name, role, listed, email=str(email) if email else None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
