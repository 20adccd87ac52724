"""The ``users`` and ``audit`` commands: people with roles, each with a token of their own."""

from __future__ import annotations

import click

from stockwatch.cli.context import Context, cli_actor, pass_context
from stockwatch.cli.output import emit, formats, short_time
from stockwatch.core.access import AccessError, Role
from stockwatch.core.clock import BadTime, parse_time
from stockwatch.service import users as people
from stockwatch.service.audit import trail
from stockwatch.service.backend import NotOnThisBackend
from stockwatch.service.commands import AddUser, RevokeUser, RotateToken


@click.group()
def users() -> None:
    """People who sign in to the dashboard and the API, each with a role and a token.

    Roles: admin (everything), manager (reads, thresholds, acknowledgements, mutes, orders),
    store (uploads and reads for its stores), viewer (reads). STOCKWATCH_TOKEN still signs
    in as the admin "admin".

    \b
    Example: stockwatch users add ana --role manager
    """


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="What the user may do.",
)
@click.option(
    "--store",
    "stores",
    multiple=True,
    metavar="STORE",
    help="Limit the user to this store (repeat for more); a store user needs one.",
)
@click.option("--email", metavar="ADDRESS", help='Their address, for "notify me" on the dashboard.')
@pass_context
def users_add(
    state: Context, name: str, role: str, stores: tuple[str, ...], email: str | None
) -> None:
    """Add a user and print their token, once: only its hash is kept.

    \b
    Example: stockwatch users add berlin-shop --role store --store Berlin
    """
    try:
        asked = AddUser(name, role, stores, email, cli_actor())
        token = people.add_user(state.runtime.users(), asked)
    except AccessError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(token)
    click.echo(
        f"{name} ({role}) added. This token is shown once; give it to {name} and keep no copy.",
        err=True,
    )


@users.command("list")
@formats
@pass_context
def users_list(state: Context, fmt: str) -> None:
    """Show the users, their roles and stores (never their tokens).

    \b
    Example: stockwatch users list --json
    """
    emit(
        state.runtime.users().users(),
        fmt,
        ("name", "role", "stores", "email", "added", "rotated", "revoked"),
        lambda u: (
            u.name,
            u.role,
            "all" if u.stores is None else ", ".join(u.stores),
            u.email or "",
            short_time(u.created_at),
            short_time(u.rotated_at) if u.rotated_at else "",
            short_time(u.revoked_at) if u.revoked_at else "",
        ),
        "No users yet: stockwatch users add NAME --role ROLE",
    )


@users.command("revoke")
@click.argument("name")
@pass_context
def users_revoke(state: Context, name: str) -> None:
    """Revoke a user's token at once; the user stays listed, and in the audit trail.

    \b
    Example: stockwatch users revoke berlin-shop
    """
    try:
        try:
            subscribed: people.OwnedSubscriptions | None = state.runtime.subscriptions()
        except NotOnThisBackend:
            subscribed = None
        people.revoke_user(state.runtime.users(), RevokeUser(name, cli_actor()), subscribed)
    except (people.NoSuchUser, AccessError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name}'s token no longer works")


@users.command("rotate")
@click.argument("name")
@pass_context
def users_rotate(state: Context, name: str) -> None:
    """Give a user a new token (printed once); the old one stops working at once.

    \b
    Example: stockwatch users rotate ana
    """
    try:
        token = people.rotate_token(state.runtime.users(), RotateToken(name, cli_actor()))
    except people.NoSuchUser as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)


@click.command()
@click.option("--since", metavar="TIME", help="Only entries from this time (ISO 8601) on.")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=1000,
    show_default=True,
    help="At most this many entries.",
)
@formats
@pass_context
def audit(state: Context, since: str | None, limit: int, fmt: str) -> None:
    """Who changed what, and when: uploads, thresholds, acknowledgements, mutes and users.

    \b
    Example: stockwatch audit --since 2026-12-01 --json
    """
    try:
        start = None if since is None else parse_time(since)
    except BadTime as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    emit(
        trail(state.runtime.users(), state.runtime.reads(), start, limit),
        fmt,
        ("at", "who", "what", "subject", "detail"),
        lambda a: (short_time(a.at), a.actor, a.action, a.subject, a.detail or ""),
        "Nothing in the audit trail yet.",
    )
