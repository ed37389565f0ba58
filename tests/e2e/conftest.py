import json
import time
from datetime import UTC, datetime

import pytest

from tests.support.databases import PostgresSchema, postgres_unavailable
from tests.support.fake_binance import FakeBinance
from tests.support.paths import REPO

DAY = 86_400_000


def wait_clear_of_boundary(timeframe_ms: int, margin_s: float = 30) -> None:
    """Sleep past a candle boundary that is about to pass, so every process sees one candle."""
    now = time.time()
    left = timeframe_ms / 1000 - now % (timeframe_ms / 1000)
    if left < margin_s:
        time.sleep(left + 2)


def dataset_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def live_exchange():
    """The fake exchange on the real clock, its data shifted so that today is 2021-03-01."""
    with FakeBinance() as server:
        server.align_now_to(dataset_ms("2021-03-01T00:00"))
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def cli_database(request, tmp_path):
    """A database URL for processes: a SQLite file, or a migrated PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    with PostgresSchema() as schema:
        from tests.support.cli import run_command

        assert run_command("--db", schema.url, "db", "upgrade").code == 0
        yield schema.url


@pytest.fixture
def cli_env(live_exchange, cli_database):
    return {
        "PAPERTRADE_DATABASE_URL": cli_database,
        "PAPERTRADE_CCXT_CONFIG": json.dumps(live_exchange.ccxt_config()),
        "PAPERTRADE_EXCHANGE_BACKOFF": "0",
        "PYTHONPATH": str(REPO),
    }
