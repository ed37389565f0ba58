"""`audit verify` rebuilds a portfolio from its journal alone and catches edits behind its back."""

import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from papertrade.adapters import schema as t
from papertrade.cli.output import plural
from papertrade.errors import SetupError
from papertrade.services.audit import verify
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.tick import Mode, run_tick
from tests.support.cli import run_inprocess
from tests.support.live import HOUR


@pytest.fixture
def traded(ledger, market_data_for, clock):
    """A portfolio after a dozen hourly ticks that buy and sell on every candle."""
    create_portfolio(
        ledger,
        parse_new_portfolio(
            name="bot", cash="10000", strategy="tests.support.strategies:Alternate", fee_rate="0.00075"
        ),
        now=0,
    )
    for _ in range(12):
        run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock())
        clock.advance(HOUR)
    run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock())  # ends holding
    return ledger


def edit(ledger, statement):
    with ledger.unit_of_work(write=True) as uow:
        uow.connection.execute(statement)
        uow.commit()


def unlock_journal(ledger):
    """What an attacker with database access would do first."""
    statements = (
        ["DROP TRIGGER journal_append_only ON journal"]
        if ledger.dialect == "postgresql"
        else ["DROP TRIGGER journal_no_update", "DROP TRIGGER journal_no_delete"]
    )
    with ledger.unit_of_work(write=True) as uow:
        for statement in statements:
            uow.connection.exec_driver_sql(statement)
        uow.commit()


def test_an_untouched_ledger_agrees_with_its_journal(traded, capsys):
    report = verify(traded, 1)
    assert report.ok and report.fills == 13 and report.entries == 14
    result = run_inprocess(capsys, "--db", traded.url.render_as_string(hide_password=False), "audit", "verify", "1")
    assert result.code == 0 and "agrees with its journal: 14 entries, 13 fills" in result.stdout


TAMPERING = {
    "cash": (sa.update(t.portfolios).values(cash=Decimal("1000000")), "cash: journal says"),
    "position": (sa.update(t.positions).values(quantity=Decimal("5")), "BTC/USDT quantity: journal says"),
    "cost basis": (sa.update(t.positions).values(cost_basis=Decimal("1")), "BTC/USDT cost basis"),
    "trade price": (
        sa.update(t.trades).where(t.trades.c.id == 3).values(price=Decimal("1")),
        "trade 3 price",
    ),
    "lost trade": (sa.delete(t.trades).where(t.trades.c.id == 5), "has no trade"),
    "tick cash after": (
        sa.update(t.ticks).where(t.ticks.c.id == 4).values(cash_after=Decimal("10000")),
        "tick 4 (BTC/USDT, candle",
    ),
    "tick position after": (
        sa.update(t.ticks).where(t.ticks.c.id == 6).values(position_after=Decimal("123")),
        "position after: journal says",
    ),
    "tick status": (
        sa.update(t.ticks).where(t.ticks.c.id == 7).values(status="neutral"),
        "says neutral",
    ),
}


@pytest.mark.parametrize("what", TAMPERING)
def test_an_edit_to_a_ledger_table_is_caught(traded, capsys, what):
    statement, expected = TAMPERING[what]
    edit(traded, statement)
    report = verify(traded, 1)
    assert not report.ok and any(expected in p for p in report.problems), report.problems
    result = run_inprocess(capsys, "--db", traded.url.render_as_string(hide_password=False), "audit", "verify", "1")
    assert result.code == 1
    assert result.error_lines == [
        f"papertrade: error: portfolio 1 does not match its journal ({plural(len(report.problems), 'difference')})"
    ]
    assert expected in result.stdout


def test_verify_all_checks_every_portfolio_and_fails_if_any_differs(traded, capsys):
    create_portfolio(traded, parse_new_portfolio(name="idle", cash="500"), now=0)
    url = traded.url.render_as_string(hide_password=False)
    clean = run_inprocess(capsys, "--db", url, "audit", "verify", "--all")
    assert clean.code == 0, clean.stderr
    assert "Portfolio 1 agrees" in clean.stdout and "Portfolio 2 agrees" in clean.stdout
    assert "2 portfolios verified, 0 with differences" in clean.stdout
    edit(traded, sa.update(t.portfolios).where(t.portfolios.c.id == 2).values(cash=Decimal("1")))
    tampered = run_inprocess(capsys, "--db", url, "audit", "verify", "--all", "--json")
    assert tampered.code == 1
    assert [(r["portfolio_id"], r["ok"]) for r in json.loads(tampered.stdout)] == [(1, True), (2, False)]
    assert all(len(r["journal_head"]) == 64 for r in json.loads(tampered.stdout))  # the hash to keep elsewhere
    assert tampered.error_lines == ["papertrade: error: portfolio 2 does not match its journal (1 difference)"]
    both = run_inprocess(capsys, "--db", url, "audit", "verify", "1", "--all")
    assert both.code == 2 and "give a portfolio ID or --all" in both.stderr


def test_the_database_refuses_journal_edits_and_the_hash_chain_catches_them_anyway(traded):
    with pytest.raises(SetupError, match="the audit journal is append-only"):
        edit(traded, sa.update(t.journal).values(payload="{}"))
    unlock_journal(traded)
    altered = '{"candle_ts":0,"side":"BUY"}'
    edit(traded, sa.update(t.journal).where(t.journal.c.id == 4).values(payload=altered))
    assert any("entry 4 was altered" in p for p in verify(traded, 1).problems)


def test_a_deleted_journal_entry_breaks_the_chain(traded):
    unlock_journal(traded)
    edit(traded, sa.delete(t.journal).where(t.journal.c.id == 6))
    problems = verify(traded, 1).problems
    assert any("entry 7 does not follow the entry before it" in p for p in problems), problems


def test_removing_the_last_fill_everywhere_but_the_tick_row_is_caught(ledger, market_data_for, clock, capsys):
    """The attack `audit verify` once missed: drop the trigger, delete the last journal entry and
    its trade, put cash and position back as they were before it. The journal's chain, cash,
    positions and trades then agree; the tick row still says the candle was executed."""
    create_portfolio(ledger, parse_new_portfolio(name="bot", cash="10000", fee_rate="0.00075",
                                                 strategy="tests.support.strategies:Alternate"), now=0)  # fmt: skip
    for _ in range(4):
        run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock())
        clock.advance(HOUR)
    with ledger.unit_of_work() as uow:
        book = uow.connection.execute(sa.select(t.portfolios.c.cash)).scalar()
        positions = [dict(row) for row in uow.connection.execute(sa.select(t.positions)).mappings()]
    run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock())
    assert verify(ledger, 1).ok
    unlock_journal(ledger)
    edit(ledger, sa.delete(t.journal).where(t.journal.c.id == sa.select(sa.func.max(t.journal.c.id)).scalar_subquery()))
    edit(ledger, sa.delete(t.trades).where(t.trades.c.id == sa.select(sa.func.max(t.trades.c.id)).scalar_subquery()))
    edit(ledger, sa.update(t.portfolios).values(cash=book))
    edit(ledger, sa.delete(t.positions))
    for row in positions:
        edit(ledger, sa.insert(t.positions).values(**row))
    problems = verify(ledger, 1).problems
    assert problems and all(p.startswith("tick 5 (BTC/USDT") for p in problems), problems
    assert any("says executed" in p and "has no fill of it" in p for p in problems)
    url = ledger.url.render_as_string(hide_password=False)
    result = run_inprocess(capsys, "--db", url, "audit", "verify", "--all")
    assert result.code == 1 and "tick 5 (BTC/USDT" in result.stdout


def test_a_journal_payload_that_is_not_json_names_the_altered_entry(traded, capsys):
    unlock_journal(traded)
    edit(traded, sa.update(t.journal).where(t.journal.c.id == 4).values(payload="{bad"))
    assert "journal entry 4 was altered: its payload is not a JSON object" in verify(traded, 1).problems
    result = run_inprocess(capsys, "--db", traded.url.render_as_string(hide_password=False), "audit", "verify", "1")
    assert result.code == 1, result.stderr
    assert "journal entry 4 was altered" in result.stdout and "internal error" not in result.stderr
