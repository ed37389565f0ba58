from decimal import Decimal

import pytest
import sqlalchemy as sa

from papertrade.adapters import schema as t
from papertrade.adapters.repositories import canonical_json

VALUES = ["0.1", "0.00000001", "1234567890.12345678", "999999999999999.000000000000000001", "0"]


@pytest.mark.parametrize("text", VALUES)
def test_decimals_round_trip_exactly(ledger, text):
    value = Decimal(text)
    candle = {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1h", "ts": 0}
    with ledger.unit_of_work(write=True) as uow:
        uow.connection.execute(
            sa.insert(t.candles).values(**candle, open=value, high=value, low=value, close=value, volume=value)
        )
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
        uow.connection.execute(
            sa.insert(t.candles).values(
                exchange="x",
                symbol="A/B",
                timeframe="1h",
                ts=0,
                open=Decimal("0.1"),
                high=Decimal("0.1"),
                low=Decimal("0.1"),
                close=Decimal("0.1"),
                volume=Decimal("0.1"),
            )
        )
        kind = uow.connection.exec_driver_sql("SELECT typeof(close), close FROM candles").one()
    assert tuple(kind) == ("text", "0.1")


def test_refuses_floats_for_amounts(ledger):
    with ledger.unit_of_work(write=True) as uow, pytest.raises(sa.exc.StatementError, match="Decimal"):
        uow.connection.execute(
            sa.insert(t.candles).values(
                exchange="x",
                symbol="A/B",
                timeframe="1h",
                ts=0,
                open=0.1,
                high=0.1,
                low=0.1,
                close=0.1,
                volume=0.1,
            )
        )
