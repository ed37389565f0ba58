"""Resting orders through the real tick: ccxt against the local Binance imitation serving real
candles, a real ledger on SQLite and PostgreSQL. Cron gaps, exactly-once, DRY, the audit."""

from decimal import ROUND_DOWN, Decimal

import sqlalchemy as sa

from papertrade.adapters import schema as t
from papertrade.services.audit import verify
from papertrade.services.portfolios import create_portfolio, get_portfolio, list_trades, parse_new_portfolio
from papertrade.services.tick import Mode, Status, run_tick
from tests.support.fake_binance import load_rows
from tests.support.live import HOUR

ROWS = load_rows("binance_BTC-USDT_1h.csv")  # (ts, open, high, low, close, volume) as text
FIRST = 1000  # the clock fixture's latest closed candle


def create(ledger, **kwargs):
    request = parse_new_portfolio(name="bot", cash="10000", fee_rate="0.001", **kwargs)
    return create_portfolio(ledger, request, now=0)


def tick(ledger, market_data_for, clock, mode=Mode.LIVE):
    return run_tick(ledger, market_data_for, 1, "BTC/USDT", mode, clock())


def first_crossing(level: Decimal, start: int, end: int) -> int:
    """The first candle in rows[start..end] whose low reaches `level`."""
    return next(i for i in range(start, end + 1) if Decimal(ROWS[i][3]) <= level)


def gap_with_a_drop(hours: int) -> tuple[Decimal, int]:
    """A stop-loss distance that the candles after FIRST cross within `hours`, not on the first one."""
    entry = Decimal(ROWS[FIRST][4])
    lowest = min(Decimal(ROWS[i][3]) for i in range(FIRST + 2, FIRST + hours + 1))
    distance = ((entry - lowest) / entry * Decimal("0.9")).quantize(Decimal("0.0001"), ROUND_DOWN)
    return distance, first_crossing(entry * (1 - distance), FIRST + 1, FIRST + hours)


def test_a_stop_crossed_while_cron_was_not_running_fills_on_the_candle_that_crossed_it(ledger, market_data_for, clock):
    distance, crossed = gap_with_a_drop(24)
    create(ledger, strategy="tests.support.strategies:AlwaysBuy", exits=(str(distance), None, None))
    bought = tick(ledger, market_data_for, clock)
    assert bought.fill is not None and bought.fill.price == Decimal(ROWS[FIRST][4])
    clock.advance(24 * HOUR)  # cron was down for a day
    later = tick(ledger, market_data_for, clock)
    (stop,) = later.order_fills
    level = (bought.fill.price * (1 - distance)).quantize(Decimal("1e-18"), ROUND_DOWN)
    assert stop.kind == "stop-loss" and stop.candle_ts == int(ROWS[crossed][0])
    assert stop.booked.fill.price == min(Decimal(ROWS[crossed][1]), level)
    trades = list_trades(ledger, 1)
    assert [(x.kind, x.side) for x in trades[:2]] == [("signal", "BUY"), ("stop-loss", "SELL")]
    assert trades[1].candle_ts == int(ROWS[crossed][0])
    assert later.status is Status.EXECUTED  # and AlwaysBuy entered again on the latest candle
    assert trades[-1].candle_ts == int(ROWS[FIRST + 24][0]) and trades[-1].kind == "signal"
    assert verify(ledger, 1).ok


def test_a_resting_limit_entry_fills_later_with_its_own_exits_and_the_audit_rebuilds_them(
    ledger, market_data_for, clock
):
    create(ledger, strategy="tests.support.strategies:DipBuyer")
    placed = tick(ledger, market_data_for, clock)
    assert placed.status is Status.NEUTRAL and [e.what for e in placed.order_events] == ["placed"]
    assert get_portfolio(ledger, 1).orders[0].price == (Decimal(ROWS[FIRST][4]) * Decimal("0.99")).quantize(
        Decimal("0.01")
    )
    for _ in range(48):
        clock.advance(HOUR)
        tick(ledger, market_data_for, clock)
    kinds = [x.kind for x in list_trades(ledger, 1)]
    assert "limit" in kinds and {"stop-loss", "take-profit"} & set(kinds), kinds
    report = verify(ledger, 1)
    assert report.ok, report.problems


def test_a_retried_tick_with_resting_orders_changes_nothing_and_dry_writes_nothing(ledger, market_data_for, clock):
    distance, _ = gap_with_a_drop(24)
    create(ledger, strategy="tests.support.strategies:AlwaysBuy", exits=(str(distance), "0.5", "0.2"))
    tick(ledger, market_data_for, clock)
    clock.advance(24 * HOUR)
    before = digest(ledger)
    dry = tick(ledger, market_data_for, clock, Mode.DRY)
    assert dry.order_fills and digest(ledger) == before
    live = tick(ledger, market_data_for, clock)
    assert [f.booked.fill for f in live.order_fills] == [f.booked.fill for f in dry.order_fills]
    after = digest(ledger)
    assert tick(ledger, market_data_for, clock).status is Status.DUPLICATE
    assert digest(ledger) == after
    assert verify(ledger, 1).ok


def test_a_ledger_tampered_with_in_its_orders_fails_the_audit(ledger, market_data_for, clock):
    create(ledger, strategy="tests.support.strategies:AlwaysBuy", exits=("0.05", None, None))
    tick(ledger, market_data_for, clock)
    with ledger.unit_of_work(write=True) as uow:
        uow.connection.execute(sa.update(t.orders).values(price=Decimal(1)))
        uow.commit()
    report = verify(ledger, 1)
    assert not report.ok and any("stop-loss order" in problem for problem in report.problems)


def digest(ledger) -> dict:
    with ledger.unit_of_work() as uow:
        return {
            table.name: [tuple(row) for row in uow.connection.execute(sa.select(table).order_by(*table.primary_key))]
            for table in t.metadata.sorted_tables
        }


def test_the_tick_line_names_each_resting_fill_with_its_candle(ledger, market_data_for, clock):
    from papertrade.cli.trade import tick_json, tick_line

    distance, crossed = gap_with_a_drop(24)
    create(ledger, strategy="tests.support.strategies:AlwaysBuy", exits=(str(distance), None, None))
    tick(ledger, market_data_for, clock)
    clock.advance(24 * HOUR)
    result = tick(ledger, market_data_for, clock)
    line = tick_line(result)
    stop = result.order_fills[0].booked.fill
    assert f"; stop-loss SELL {stop.quantity} @ " in line
    assert line.count(" on 20") == 1 and "placed stop-loss sell @" in line
    document = tick_json(result, Mode.LIVE)
    assert document["order_fills"][0]["kind"] == "stop-loss"
    assert document["order_fills"][0]["candle_ts"] == int(ROWS[crossed][0])
    assert [e["event"] for e in document["order_events"]] == ["placed"]  # the new entry's stop-loss
