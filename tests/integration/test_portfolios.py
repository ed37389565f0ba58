from decimal import Decimal

import pytest
import sqlalchemy as sa

from papertrade.domain.journal import GENESIS_HASH, entry_hash
from papertrade.errors import InputError, NotFound
from papertrade.services.portfolios import (
    create_portfolio,
    get_portfolio,
    list_portfolios,
    parse_new_portfolio,
)


def new(name="My RSI Bot", cash="10000", **kwargs):
    return parse_new_portfolio(name=name, cash=cash, **kwargs)


def test_creates_and_reads_back_a_portfolio(ledger):
    created = create_portfolio(ledger, new(timeframe="5m", fee_rate="0.00075", params=["period=21"]), now=1_000)
    stored = get_portfolio(ledger, created.id)
    assert stored.id == created.id == 1
    assert stored.book.cash == stored.book.initial_cash == Decimal(10000)
    assert stored.config.timeframe.name == "5m"
    assert stored.config.fills.fee_rate == Decimal("0.00075")
    assert stored.config.strategy_params["period"] == 21
    assert stored.created_ts == 1_000


def test_lists_portfolios_in_id_order(ledger):
    for name in ("b", "a", "c"):
        create_portfolio(ledger, new(name=name), now=0)
    assert [p.config.name for p in list_portfolios(ledger)] == ["b", "a", "c"]


def test_names_are_unique(ledger):
    create_portfolio(ledger, new(), now=0)
    with pytest.raises(InputError, match="already exists"):
        create_portfolio(ledger, new(), now=0)
    assert len(list_portfolios(ledger)) == 1


def test_an_unknown_id_is_not_found(ledger):
    with pytest.raises(NotFound):
        get_portfolio(ledger, 42)


def test_creation_is_journaled_with_a_hash_chain(ledger):
    created = create_portfolio(ledger, new(cash="0.00000001"), now=5)
    with ledger.unit_of_work() as uow:
        (entry,) = uow.journal.entries(created.id)
    assert entry.event == "portfolio.created"
    assert entry.payload["initial_cash"] == "0.00000001"
    assert entry.prev_hash == GENESIS_HASH
    assert entry.hash == entry_hash(GENESIS_HASH, entry.event, uow_body(entry))


def uow_body(entry):
    from papertrade.domain.journal import canonical_json

    return canonical_json(entry.payload)


@pytest.mark.parametrize("statement", ["UPDATE journal SET event = 'x'", "DELETE FROM journal"])
def test_the_database_refuses_to_rewrite_the_journal(ledger, statement):
    create_portfolio(ledger, new(), now=0)
    with ledger.unit_of_work(write=True) as uow, pytest.raises(sa.exc.DatabaseError, match="append-only"):
        uow.connection.exec_driver_sql(statement)
    with ledger.unit_of_work() as uow:
        assert len(uow.journal.entries(1)) == 1


def test_uncommitted_work_is_rolled_back(ledger):
    with ledger.unit_of_work(write=True) as uow:
        uow.portfolios.add(new().config, Decimal(1), 0)
    assert list_portfolios(ledger) == []
