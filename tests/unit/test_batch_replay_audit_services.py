"""The batch, replay and audit services on fakes of their ports."""

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from papertrade.adapters.csv_candles import CandleFile
from papertrade.domain.timeframes import Timeframe
from papertrade.errors import NotFound
from papertrade.services.audit import verify
from papertrade.services.batch import Bot, run_bots
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.replay import replay
from papertrade.services.tick import Mode, Status
from tests.unit.fakes import FakeLedger, FakeMarketData, hourly_bars

HOUR = 3_600_000
BARS = hourly_bars([100, 101, 99, 98, 102, 103, 97, 96, 100, 104, 105, 99])


def ledger_with(*names: str, strategy="tests.support.strategies:Alternate") -> FakeLedger:
    ledger = FakeLedger()
    for name in names:
        create_portfolio(ledger, parse_new_portfolio(name=name, cash="1000", strategy=strategy), now=0)
    return ledger


def batch(ledger, source, bots, now):
    return list(
        run_bots(ledger, lambda exchange: source, lambda exchange: source, bots, now, markets_ttl_ms=86_400_000)
    )


# -- batch ------------------------------------------------------------------------------------


def test_a_batch_fetches_each_series_once_for_every_bot_that_trades_it():
    ledger, source = ledger_with("a", "b"), FakeMarketData(BARS)
    outcomes = batch(ledger, source, [Bot(1, "BTC/USDT"), Bot(2, "BTC/USDT")], BARS[5].ts + HOUR + 1)
    assert [o.result.status for o in outcomes] == [Status.EXECUTED, Status.EXECUTED]
    assert (source.market_requests, source.candle_requests) == (1, 1)


def test_a_batch_reports_an_unknown_portfolio_and_runs_the_others():
    ledger, source = ledger_with("a"), FakeMarketData(BARS)
    outcomes = batch(ledger, source, [Bot(7, "BTC/USDT"), Bot(1, "BTC/USDT", Mode.DRY)], BARS[5].ts + HOUR + 1)
    assert isinstance(outcomes[0].error, NotFound)
    assert outcomes[1].result.status is Status.DRY_RUN and ledger.state.ticks == []


def test_a_symbol_the_exchange_does_not_list_fails_only_its_bots():
    ledger, source = ledger_with("a"), FakeMarketData(BARS)
    outcomes = batch(ledger, source, [Bot(1, "ETH/USDT"), Bot(1, "BTC/USDT")], BARS[5].ts + HOUR + 1)
    assert isinstance(outcomes[0].error, NotFound) and outcomes[1].result.status is Status.EXECUTED


# -- replay -----------------------------------------------------------------------------------


def candle_file() -> CandleFile:
    return CandleFile(Path("binance_BTC-USDT_1h.csv"), tuple(BARS), Timeframe.parse("1h"))


def test_a_replay_ticks_every_candle_once_and_a_second_replay_changes_nothing():
    ledger = ledger_with("a")
    first = replay(ledger, candle_file(), 1, "BTC/USDT")
    assert first.ticks == len(BARS) and first.statuses == {"executed": len(BARS)}
    assert len(ledger.state.trades) == len(BARS)
    state = ledger.state
    again = replay(ledger, candle_file(), 1, "BTC/USDT")
    assert again.statuses == {"duplicate": len(BARS)} and ledger.state is state


def test_a_replay_of_a_range_ticks_only_that_range():
    ledger = ledger_with("a")
    summary = replay(ledger, candle_file(), 1, "BTC/USDT", start=BARS[3].ts, end=BARS[5].ts)
    assert summary.ticks == 3 and [r.key.candle_ts for _, r in ledger.state.ticks] == [b.ts for b in BARS[3:6]]


def test_a_replay_never_caches_the_file_s_unrestricted_market():
    ledger = ledger_with("a")
    replay(ledger, candle_file(), 1, "BTC/USDT", end=BARS[1].ts)
    assert ledger.state.markets == {}


# -- audit ------------------------------------------------------------------------------------


def traded_ledger() -> FakeLedger:
    ledger = ledger_with("a")
    replay(ledger, candle_file(), 1, "BTC/USDT", end=BARS[4].ts)
    return ledger


def test_an_untouched_ledger_agrees_with_its_journal():
    report = verify(traded_ledger(), 1)
    assert report.ok and report.fills == 5 and report.cash == traded_ledger().state.portfolios[1].book.cash


def test_cash_changed_behind_the_journal_s_back_is_found():
    ledger = traded_ledger()
    stored = ledger.state.portfolios[1]
    stored.book.cash += Decimal("0.01")
    report = verify(ledger, 1)
    assert not report.ok and any(p.startswith("cash: journal says") for p in report.problems)


def test_an_edited_journal_entry_breaks_the_chain():
    ledger = traded_ledger()
    portfolio_id, entry = ledger.state.journal[2]
    ledger.state.journal[2] = (portfolio_id, replace(entry, body=entry.body[:-1] + ',"edited":1}'))
    report = verify(ledger, 1)
    assert any("was altered" in p for p in report.problems)


def test_a_trade_missing_from_the_trades_table_is_found():
    ledger = traded_ledger()
    del ledger.state.trades[0]
    report = verify(ledger, 1)
    assert any("5 fills, the trades table 4" in p for p in report.problems)
