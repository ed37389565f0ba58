"""`notify`: a portfolio's notification URLs (Apprise), and delivering what is pending."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import now_ms, state

EVENTS_HELP = "Events these URLs get: any of fill,error,daily (default all three)."


def notify(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            metavar="ID|flush|check",
            help="Portfolio id; flush: send what is pending; check: announce stale symbols (for cron).",
        ),
    ],
    add: Annotated[
        list[str] | None,
        typer.Option("--add", metavar="URL|N", help="Add an Apprise URL, or give URL N of --list new --events."),
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", metavar="URL|N", help="Remove a URL, or URL number N of --list.")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the portfolio's URLs, redacted (the default).")] = False,
    test: Annotated[bool, typer.Option("--test", help="Send a test message to each URL now.")] = False,
    events: Annotated[str | None, typer.Option(metavar="EVENTS", help=EVENTS_HELP)] = None,
    cron: Annotated[bool, typer.Option("--cron", help="With check: print its crontab line instead.")] = False,
    log: Annotated[
        str | None,
        typer.Option(metavar="FILE", help="With check --cron: log file (default: in logs/ of the data directory)."),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Where a portfolio's notifications go: Apprise URLs such as tgram://BOT_TOKEN/CHAT_ID,
    discord://WEBHOOK_ID/WEBHOOK_TOKEN, json://host/path or mailto://user:password@example.com.
    URLs are kept in the ledger only and always shown redacted.

    `papertrade notify flush` delivers every pending notification of the ledger (exit 75 when
    some could not be delivered: they stay pending).

    `papertrade notify check` (every 5 minutes from cron: `notify check --cron` prints the line)
    sends a `stale` event once when a symbol's bot has processed no candle for two of its
    timeframe's candles, and a `resumed` event once it ticks again, then delivers what is pending.
    """
    _one_action(target, events, add=add, remove=remove, list=list_, test=test)
    _check_options(target, cron, log)
    if target == "flush":
        return _flush(ctx, json)
    if target == "check":
        return _cron_line(ctx, log) if cron else _check(ctx, json)
    portfolio_id = _portfolio_id(target)
    if add:
        _add(ctx, portfolio_id, add, events, json)
    elif remove:
        _remove(ctx, portfolio_id, remove, json)
    elif test:
        _test(ctx, portfolio_id, json)
    else:
        _list(ctx, portfolio_id, json)


def _one_action(target: str, events: str | None, **given) -> list[str]:
    """The action asked for (at most one), checked against the target and --events."""
    from papertrade.errors import InputError

    actions = [f"--{name}" for name, value in given.items() if value]
    if len(actions) > 1:
        raise InputError(f"choose one of --add, --remove, --list, --test (got {' and '.join(actions)})")
    if events is not None and actions != ["--add"]:
        raise InputError("--events goes with --add")
    if target in ("flush", "check") and actions:
        raise InputError(f"notify {target} takes no {actions[0]}")
    return actions


def _check_options(target: str, cron: bool, log: str | None) -> None:
    from papertrade.errors import InputError

    if cron and target != "check":
        raise InputError("--cron goes with notify check")
    if log is not None and not cron:
        raise InputError("--log goes with notify check --cron")


def _portfolio_id(text: str) -> int:
    from papertrade.errors import InputError

    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**31:
        raise InputError(f"expected a portfolio id, `flush` or `check`, not {text!r}")
    return int(text)


def _add(ctx: typer.Context, portfolio_id: int, urls: list[str], events: str | None, json: bool) -> None:
    from papertrade.adapters.apprise_sender import check_url
    from papertrade.domain.notifications import parse_events
    from papertrade.services.notifications import add_targets, parse_targets

    numbered = {u for u in urls if u.isascii() and u.isdigit()}  # N of --list: that URL, new events
    checked = iter(parse_targets([u for u in urls if u not in numbered], events, check_url))
    targets = [u if u in numbered else next(checked) for u in urls]
    wanted = parse_events(events) if events is not None else None
    added = add_targets(state(ctx).ledger(), portfolio_id, targets, now_ms(), wanted)
    if json:
        output.emit_json([_added_json(a) for a in added])
        return
    for a in added:
        typer.echo(f"Portfolio {portfolio_id} notifies {a.number}: {a.target.redacted} of {_events(a.target.events)} "
                   f"({_change(a)})")  # fmt: skip


def _change(added) -> str:
    """What `--add` did to a URL: added it, changed its events (from what), or nothing."""
    if added.before is None:
        return "added"
    if added.before == added.target.events:
        return "already so: nothing changed"
    return f"events were {_events(added.before)}"


def _added_json(added) -> dict:
    from papertrade.domain.notifications import events_text

    before = None if added.before is None else events_text(added.before).split(",")
    return {"n": added.number, **_target_json(added.target), "added": added.before is None, "events_before": before}


def _remove(ctx: typer.Context, portfolio_id: int, urls: list[str], json: bool) -> None:
    from papertrade.services.notifications import remove_target

    ledger = state(ctx).ledger()
    removed = [remove_target(ledger, portfolio_id, url) for url in dict.fromkeys(urls)]
    if json:
        output.emit_json([{"id": t.id, "url": t.redacted} for t in removed])
        return
    for target in removed:
        typer.echo(f"Portfolio {portfolio_id} no longer notifies {target.redacted}")


def _list(ctx: typer.Context, portfolio_id: int, json: bool) -> None:
    from papertrade.services.notifications import list_targets

    states = list_targets(state(ctx).ledger(), portfolio_id)
    if json:
        output.emit_json(
            [
                {"n": n, **_target_json(s.target), "pending": s.pending, "delivered": s.delivered,
                 "last_error": s.last_error}
                for n, s in enumerate(states, 1)
            ]
        )  # fmt: skip
        return
    if not states:
        typer.echo(f"Portfolio {portfolio_id} has no notification URLs: add one with notify {portfolio_id} --add URL")
        return
    rows = [
        [str(n), s.target.redacted, _events(s.target.events), output.count(s.pending), output.count(s.delivered)]
        for n, s in enumerate(states, 1)
    ]
    typer.echo(output.table(["N", "URL (REDACTED)", "EVENTS", "PENDING", "DELIVERED"], rows, right=(0, 3, 4)))
    for n, s in enumerate(states, 1):
        if s.last_error:
            typer.echo(f"  {n}: last error: {s.last_error}")


def _test(ctx: typer.Context, portfolio_id: int, json: bool) -> None:
    from papertrade.adapters.apprise_sender import AppriseSender
    from papertrade.services.notifications import test_targets

    cli = state(ctx)
    outcomes = test_targets(cli.ledger(), AppriseSender(), portfolio_id, cli.settings().notify_timeout)
    if json:
        output.emit_json([{"id": t.id, "url": t.redacted, "sent": e is None, "error": e} for t, e in outcomes])
    else:
        for target, error in outcomes:
            typer.echo(f"sent to {target.redacted}" if error is None else f"FAILED {target.redacted}: {error}")
    failed = sum(1 for _, error in outcomes if error is not None)
    if failed:
        output.error_line(f"{failed} of {output.plural(len(outcomes), 'notification URL')} failed the test")
        raise typer.Exit(75)


def _flush(ctx: typer.Context, json: bool) -> None:
    from papertrade.adapters.apprise_sender import AppriseSender
    from papertrade.services.notifications import Notifier

    cli = state(ctx)
    ledger = cli.ledger()
    if ledger is None:
        from papertrade.errors import NotFound

        raise NotFound("there is no ledger yet: nothing to flush")
    notifier = Notifier(ledger, AppriseSender(), cli.settings().notify_timeout, quiet=False)
    flushed = notifier.deliver(now_ms())
    if json:
        output.emit_json({"delivered": flushed.delivered, "failed": flushed.failed, "pending": flushed.pending})
    else:
        typer.echo(
            f"delivered {flushed.delivered} notification{'s' if flushed.delivered != 1 else ''}, "
            f"{flushed.failed} failed, {flushed.pending} pending"
        )
    if flushed.failed:
        output.error_line(
            f"{output.plural(flushed.failed, 'notification')} could not be delivered; they stay pending "
            "and go out with the next tick or flush"
        )
        raise typer.Exit(75)


def _check(ctx: typer.Context, json: bool) -> None:
    from papertrade.adapters.apprise_sender import AppriseSender
    from papertrade.services.notifications import Flushed, check_stale

    cli = state(ctx)
    checked = check_stale(cli.ledger(), AppriseSender(), now_ms(), cli.settings().notify_timeout)
    flushed = checked.flushed or Flushed(0, 0, 0)
    if json:
        output.emit_json(
            {
                "stale": [{"portfolio_id": s.portfolio_id, "symbol": s.symbol, "timeframe": s.timeframe,
                           "last_candle_ts": s.last_candle_ts, "missed": s.missed} for s in checked.stale],
                "events": {"stale": checked.stale_events, "resumed": checked.resumed_events,
                           "daily": checked.summaries},
                "delivered": flushed.delivered, "failed": flushed.failed, "pending": flushed.pending,
            }
        )  # fmt: skip
    else:
        _print_checked(checked, flushed)
    if flushed.failed:
        output.error_line(f"{output.plural(flushed.failed, 'notification')} could not be delivered; they stay pending")
        raise typer.Exit(75)


def _print_checked(checked, flushed) -> None:
    from papertrade.domain.timeframes import timestamp

    for s in checked.stale:
        typer.echo(
            f"portfolio {s.portfolio_id} {s.symbol}: stale, no {s.timeframe} candle processed since "
            f"{timestamp(s.last_candle_ts)} ({output.plural(s.missed, 'candle')} closed since)"
        )
    typer.echo(
        f"{output.plural(len(checked.stale), 'stale symbol')}; new events: {checked.stale_events} stale, "
        f"{checked.resumed_events} resumed, {checked.summaries} daily; delivered {flushed.delivered}, "
        f"{flushed.failed} failed, {flushed.pending} pending"
    )


def _cron_line(ctx: typer.Context, log: str | None) -> None:
    from papertrade.cli.cron import command_line

    typer.echo(command_line(ctx, "*/5 * * * *", ["notify", "check"], log, "notify-check.log"))


def _events(events) -> str:
    from papertrade.domain.notifications import events_text

    return events_text(events).replace(",", ", ")


def _target_json(target) -> dict:
    from papertrade.domain.notifications import events_text

    return {"url": target.redacted, "events": events_text(target.events).split(",")}
