"""People and their tokens: add, list, revoke, rotate, and who a token belongs to.

Written once over ``UserDirectory``; each backend stores users its own way. A new or
rotated token is returned once and only its hash is kept (``core.access``). Every change is
written to the audit trail with who made it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

from stockwatch.core.access import (
    TOKEN_PREFIX,
    AccessError,
    Principal,
    Role,
    check_user,
    token_hash,
)
from stockwatch.core.subscriptions import (
    Subscription,
    SubscriptionError,
    check_email,
    mask_url,
)
from stockwatch.service.commands import AddUser, RevokeUser, RotateToken

BOOTSTRAP = "admin"  # who STOCKWATCH_TOKEN signs in as: existing set-ups carry on


@dataclass(frozen=True)
class UserRow:
    name: str
    role: str
    stores: list[str] | None
    created_at: str
    rotated_at: str | None
    revoked_at: str | None
    email: str | None = None  # where "notify me" sends their digests


@dataclass(frozen=True)
class AuditRow:
    id: int | str
    at: str
    actor: str
    action: str
    subject: str
    detail: str | None


@dataclass(frozen=True)
class NewUser:
    """A user as kept: only the hash of their token."""

    name: str
    role: str
    stores: list[str] | None  # None: every store
    digest: str
    email: str | None = None


class UserDirectory(Protocol):
    def add(self, user: NewUser) -> bool:
        """False when the name is taken."""
        ...

    def by_hash(self, digest: str) -> tuple[str, str, list[str] | None] | None:
        """(name, role, stores) of the live user with this token hash."""
        ...

    def users(self) -> list[UserRow]: ...

    def revoke(self, name: str) -> bool:
        """False when there is no live user of that name."""
        ...

    def replace_token(self, name: str, digest: str) -> bool: ...

    def record(self, actor: str, action: str, subject: str, detail: str | None) -> None:
        """One line of the audit trail."""
        ...

    def audit(self, since: str | None, limit: int) -> list[AuditRow]: ...


class AuditTrail(Protocol):
    def record(self, actor: str, action: str, subject: str, detail: str | None) -> None: ...

    def audit(self, since: str | None, limit: int) -> list[AuditRow]: ...


def note(
    trail: AuditTrail | None, actor: str, action: str, subject: str, detail: str | None = None
) -> None:
    """One line of the trail, where the caller keeps one."""
    if trail is not None:
        trail.record(actor or "someone", action, subject, detail)


class OwnedSubscriptions(Protocol):
    """What revoking needs of ``service.subscriptions.SubscriptionStore``."""

    def subscriptions(self) -> list[Subscription]: ...

    def delete(self, subscription_id: str) -> bool: ...


class NoSuchUser(LookupError):
    pass


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 bits


def add_user(users: UserDirectory, command: AddUser) -> str:
    """The new user's token, shown once."""
    name, email = command.name, command.email
    chosen, scope = check_user(name, command.role, list(command.stores))
    if email is not None:
        try:
            email = check_email(email)
        except SubscriptionError as exc:
            raise AccessError(str(exc)) from None
    token = new_token()
    listed = sorted(scope) if scope is not None else None
    if not users.add(NewUser(name, chosen.value, listed, token_hash(token), email)):
        raise AccessError(f"there is a user named {name!r} already")
    detail = chosen.value + ("" if listed is None else " of " + ", ".join(listed))
    users.record(command.by, "user.add", name, detail)
    return token


def revoke_user(
    users: UserDirectory, command: RevokeUser, subscriptions: OwnedSubscriptions | None = None
) -> None:
    """Revoke a user's token, and end the subscriptions they made (their digests too);
    never the last live admin's, so a server with users always has someone to manage them."""
    live = [u for u in users.users() if u.revoked_at is None]
    admins = [u.name for u in live if u.role == Role.ADMIN.value]
    if admins == [command.name]:
        raise AccessError(
            f"{command.name} is the last admin; make another admin first, then revoke this one"
        )
    if not users.revoke(command.name):
        raise NoSuchUser(f"no user named {command.name!r} (or revoked already)")
    users.record(command.by, "user.revoke", command.name, None)
    for made in subscriptions.subscriptions() if subscriptions is not None else []:
        if made.owner == command.name and subscriptions is not None:
            subscriptions.delete(str(made.id))
            detail = f"{made.channel} {mask_url(made.target)}: its owner was revoked"
            users.record(command.by, "subscription.delete", str(made.id), detail)


def rotate_token(users: UserDirectory, command: RotateToken) -> str:
    """A new token for the user; the old one stops working at once."""
    token = new_token()
    if not users.replace_token(command.name, token_hash(token)):
        raise NoSuchUser(f"no user named {command.name!r} (or revoked)")
    users.record(command.by, "user.rotate", command.name, None)
    return token


def email_of(users: UserDirectory | None, principal: Principal) -> str | None:
    """Where a person's own digests go: their sign-in's address, else their user's."""
    if principal.email or users is None or not principal.personal:
        return principal.email
    return next((u.email for u in users.users() if u.name == principal.name), None)


def authenticate(
    users: UserDirectory | None, bootstrap: str | None, given: str | None
) -> Principal | None:
    """Who ``given`` signs in as: the bootstrap admin, a live user, or nobody."""
    if not given:
        return None
    if bootstrap is not None and hmac.compare_digest(bootstrap.encode(), given.encode()):
        return Principal(BOOTSTRAP, Role.ADMIN, personal=False)
    if users is None:
        return None
    found = users.by_hash(token_hash(given))
    if found is None:
        return None
    name, role, stores = found
    return Principal(name, Role(role), None if stores is None else frozenset(stores))
