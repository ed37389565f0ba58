"""`papertrade run`: tick many bots in one process (the batch runner)."""

from pathlib import Path
from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import long_running, now_ms, state


def run(
    ctx: typer.Context,
    bots_file: Annotated[Path, typer.Argument(metavar="BOTS.toml", help="The bots to tick (see the README).")],
    shard: Annotated[str | None, typer.Option(metavar="K/N", help="Run only shard K of N (several machines).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object with every bot's outcome.")] = False,
) -> None:
    """Tick many (portfolio, symbol) bots in one process: each market series fetched once and
    shared, fetches concurrent within the exchange's rate limit, each bot in its own transaction
    under the same tick key as `trade`.

    Exit status: 0 when every bot's tick succeeded (executed, neutral, duplicate or dry-run);
    otherwise 1 if any failed for good, else 2 if any had bad input, else 75 (temporary trouble).
    """
    from papertrade.bootstrap import exchange_client, make_notifier, market_data_factory
    from papertrade.services.batch import in_shard, load_bots, parse_shard, run_bots
    from papertrade.services.tick import Mode

    bots = load_bots(bots_file)
    if shard is not None:
        k, n = parse_shard(shard)
        bots = [bot for bot in bots if in_shard(bot, k, n)]
    settings = state(ctx).settings()
    ledger = state(ctx).ledger()
    if ledger is None:
        from papertrade.errors import NotFound

        raise NotFound("the ledger is empty: create portfolios before running bots")
    bots = _without_archived(ledger, bots)
    long_running()
    shared, now = market_data_factory(settings), now_ms()
    notifier = make_notifier(settings, ledger, live=any(bot.mode is Mode.LIVE for bot in bots))
    outcomes = run_bots(
        ledger, shared, lambda exchange: exchange_client(settings, exchange), bots, now,
        markets_ttl_ms=int(settings.markets_ttl * 1000),
        min_interval=lambda exchange: shared(exchange).rate_limit,
    )  # fmt: skip
    code = _report(_observed(outcomes, notifier, now), len(bots), json)
    notifier.deliver(now)  # the whole run's events, one batch per URL where its service allows
    if code:
        raise typer.Exit(code)


def _without_archived(ledger, bots: list) -> list:
    """The bots whose portfolio is not archived; a note on stderr names the ones left out."""
    from papertrade.services.portfolios import archived_ids

    archived = archived_ids(ledger)
    skipped = sorted({bot.portfolio_id for bot in bots if bot.portfolio_id in archived})
    if skipped:
        left_out = output.plural(sum(1 for bot in bots if bot.portfolio_id in archived), "bot")
        portfolios = f"portfolio{'s' if len(skipped) > 1 else ''} {', '.join(map(str, skipped))}"
        typer.echo(
            f"papertrade: note: skipped {left_out} of archived {portfolios} "
            "(`papertrade portfolio unarchive ID` to run them)",
            err=True,
        )
    return [bot for bot in bots if bot.portfolio_id not in archived]


def _observed(outcomes, notifier, now: int):
    """The outcomes, each LIVE one shown to the notifier (failures, recoveries) as it passes."""
    from papertrade.services.tick import Mode

    for outcome in outcomes:
        if outcome.bot.mode is Mode.LIVE:
            notifier.observe(outcome.bot.portfolio_id, outcome.bot.symbol, outcome.error, now)
        yield outcome


def _report(outcomes, count: int, as_json: bool) -> int:
    """Print each bot's outcome as it comes, then the summary; the run's exit status."""
    from papertrade.cli.exit_codes import exit_code_for, summary_code
    from papertrade.cli.trade import tick_json, tick_line

    codes, statuses, documents = [], {}, []
    for outcome in outcomes:
        bot = outcome.bot
        if outcome.error is not None:
            codes.append(exit_code_for(outcome.error))
            status, line = "failed", f"error: {' '.join(str(outcome.error).split())}"
            document = {"error": str(outcome.error), "exit_code": codes[-1]}
        else:
            status, line = str(outcome.result.status), tick_line(outcome.result)
            document = tick_json(outcome.result, bot.mode)
        statuses[status] = statuses.get(status, 0) + 1
        if as_json:
            documents.append({"portfolio_id": bot.portfolio_id, "symbol": bot.symbol, **document})
        else:
            typer.echo(f"bot {bot.portfolio_id} {bot.symbol}: {line}")
    code = summary_code(codes)
    if as_json:
        output.emit_json({"bots": documents, "summary": {"bots": count, "statuses": statuses, "exit_code": code}})
    else:
        tally = ", ".join(f"{output.count(n)} {status}" for status, n in sorted(statuses.items())) or "nothing to do"
        typer.echo(f"ran {output.plural(count, 'bot')}: {tally}")
    return code
