"""`run`: tick many bots in one process (the batch runner)."""

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
    from papertrade.adapters.exchange import CcxtMarketData
    from papertrade.bootstrap import make_notifier, market_data_factory
    from papertrade.cli.app import exit_code_for
    from papertrade.cli.trade import tick_json, tick_line
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
    long_running()
    shared = market_data_factory(settings)

    def fetcher_for(exchange: str) -> CcxtMarketData:
        return CcxtMarketData(
            exchange, settings.ccxt_config, retries=settings.exchange_retries, backoff=settings.exchange_backoff
        )

    now = now_ms()
    notifier = make_notifier(settings, ledger, live=any(bot.mode is Mode.LIVE for bot in bots))
    outcomes = run_bots(
        ledger, shared, fetcher_for, bots, now,
        markets_ttl_ms=int(settings.markets_ttl * 1000),
        min_interval=lambda exchange: shared(exchange).rate_limit,
    )  # fmt: skip
    codes, statuses, documents = [], {}, []
    for outcome in outcomes:
        bot = outcome.bot
        if bot.mode is Mode.LIVE:
            notifier.observe(bot.portfolio_id, bot.symbol, outcome.error, now)
        if outcome.error is not None:
            codes.append(exit_code_for(outcome.error))
            statuses["failed"] = statuses.get("failed", 0) + 1
            line = f"error: {' '.join(str(outcome.error).split())}"
            document = {"error": str(outcome.error), "exit_code": codes[-1]}
        else:
            statuses[str(outcome.result.status)] = statuses.get(str(outcome.result.status), 0) + 1
            line = tick_line(outcome.result)
            document = tick_json(outcome.result, bot.mode)
        if json:
            documents.append({"portfolio_id": bot.portfolio_id, "symbol": bot.symbol, **document})
        else:
            typer.echo(f"bot {bot.portfolio_id} {bot.symbol}: {line}")
    code = summary_code(codes)
    tally = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())) or "nothing to do"
    if json:
        output.emit_json({"bots": documents, "summary": {"bots": len(bots), "statuses": statuses, "exit_code": code}})
    else:
        typer.echo(f"ran {len(bots)} bots: {tally}")
    notifier.deliver(now)  # the whole run's events, one batch per URL where its service allows
    if code:
        raise typer.Exit(code)


def summary_code(codes: list[int]) -> int:
    """One exit status for many bots: permanent failures first, then bad input, then temporary."""
    for code in (1, 2, 75):
        if code in codes:
            return code
    return 0
