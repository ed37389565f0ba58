from decimal import Decimal

import pytest
import sqlalchemy as sa

from papertrade.adapters import schema as t
from papertrade.domain.journal import canonical_json

VALUES = ["0.1", "0.00000001", "1234567890.12345678", "999999999999999.000000000000000001", "0"]


def insert_candle(connection, value) -> None:
    """A candle whose every amount is `value`."""
    key = {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1h", "ts": 0}
    prices = dict.fromkeys(("open", "high", "low", "close", "volume"), value)
    connection.execute(sa.insert(t.candles).values(**key, **prices))


@pytest.mark.parametrize("text", VALUES)
def test_decimals_round_trip_exactly(ledger, text):
    value = Decimal(text)
    with ledger.unit_of_work(write=True) as uow:
        insert_candle(uow.connection, value)
        uow.commit()
    with ledger.unit_of_work() as uow:
        stored = uow.connection.execute(sa.select(t.candles.c.close)).scalar_one()
    assert isinstance(stored, Decimal)
    assert stored == value
    assert canonical_json(stored) == canonical_json(value)


def test_sqlite_keeps_amounts_as_text_not_floats(ledger):
    if ledger.dialect != "sqlite":
        pytest.skip("SQLite storage detail")
    with ledger.unit_of_work(write=True) as uow:
        insert_candle(uow.connection, Decimal("0.1"))
        kind = uow.connection.exec_driver_sql("SELECT typeof(close), close FROM candles").one()
    assert tuple(kind) == ("text", "0.1")


def test_refuses_floats_for_amounts(ledger):
    with ledger.unit_of_work(write=True) as uow, pytest.raises(sa.exc.StatementError, match="Decimal"):
        insert_candle(uow.connection, 0.1)
