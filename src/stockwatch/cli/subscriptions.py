"""The ``subscriptions`` commands: who hears about which stores' alerts."""

from __future__ import annotations

import click

from stockwatch.cli.context import Context, cli_actor, pass_context
from stockwatch.cli.output import emit, formats, short_time
from stockwatch.core.subscriptions import KINDS, SubscriptionError
from stockwatch.service import subscriptions as subs
from stockwatch.service.commands import Subscribe, Unsubscribe


def _store(state: Context) -> subs.SubscriptionStore:
    return state.runtime.subscriptions()


@click.group()
def subscriptions() -> None:
    """Email addresses and webhooks that get their own digest of some stores' alerts.

    Each subscription gets one digest per upload holding only the alerts that match it,
    and nothing when none do. STOCKWATCH_WEBHOOK_URL and STOCKWATCH_EMAIL_TO still get
    everything.

    \b
    Example: stockwatch subscriptions add --email berlin@example.com --store Berlin
    """


@subscriptions.command("add")
@click.option("--email", metavar="ADDRESS", help="Send the digests to this address.")
@click.option("--webhook", metavar="URL", help="POST the digests to this URL.")
@click.option("--store", "stores", multiple=True, help="Only this store (repeat for more).")
@click.option(
    "--kind", "kinds", multiple=True, type=click.Choice(KINDS), help="Only this alert kind."
)
@pass_context
def subscriptions_add(
    state: Context,
    email: str | None,
    webhook: str | None,
    stores: tuple[str, ...],
    kinds: tuple[str, ...],
) -> None:
    """Subscribe an email address or a webhook to some stores' alerts.

    \b
    Example: stockwatch subscriptions add --webhook https://hooks.example.com/berlin --store Berlin
    """
    try:
        asked = Subscribe(cli_actor(), email, webhook, stores, kinds)
        made = subs.add_subscription(_store(state), state.trail(), asked)
    except SubscriptionError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"subscription {made.id}: {made.channel} {made.target}")
    if made.secret:
        click.echo(
            f"its signing secret, shown once (check X-Stockwatch-Signature with it): {made.secret}"
        )


@subscriptions.command("list")
@formats
@pass_context
def subscriptions_list(state: Context, fmt: str) -> None:
    """Every subscription, with what it is about.

    \b
    Example: stockwatch subscriptions list --json
    """
    emit(
        [s.row() for s in _store(state).subscriptions()],
        fmt,
        ("id", "channel", "target", "stores", "kinds", "created"),
        lambda s: (
            s.id,
            s.channel,
            s.target,
            ", ".join(s.stores or ["every store"]),
            ", ".join(s.kinds or ["every kind"]),
            short_time(s.created_at),
        ),
        "No subscriptions yet.",
    )


@subscriptions.command("delete")
@click.argument("subscription_id")
@pass_context
def subscriptions_delete(state: Context, subscription_id: str) -> None:
    """Stop a subscription; its digests not yet sent are dropped.

    \b
    Example: stockwatch subscriptions delete 3
    """
    try:
        asked = Unsubscribe(subscription_id, cli_actor())
        subs.delete_subscription(_store(state), state.trail(), asked)
    except SubscriptionError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"subscription {subscription_id} deleted")


__all__ = ["subscriptions"]
