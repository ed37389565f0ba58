"""Repositories: the ledger tables mapped to and from domain objects (SQLAlchemy Core)."""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from papertrade.adapters import schema as t
from papertrade.domain.fills import FillModel
from papertrade.domain.ledger import Portfolio, Position
from papertrade.domain.money import to_plain
from papertrade.domain.portfolio import PortfolioConfig
from papertrade.domain.timeframes import Timeframe
from papertrade.errors import NotFound

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class StoredPortfolio:
    id: int
    config: PortfolioConfig
    book: Portfolio
    created_ts: int


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    tick_id: int | None
    event: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    recorded_ts: int


def canonical_json(value: Any) -> str:
    """Deterministic JSON with decimals as plain strings (journal payloads, settings)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_encode)


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return to_plain(value)
    raise TypeError(f"cannot encode {type(value).__name__} in the ledger")


class PortfolioRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, config: PortfolioConfig, initial_cash: Decimal, now: int) -> int:
        fills = config.fills
        result = self._c.execute(
            insert(t.portfolios).values(
                name=config.name,
                quote_currency=config.quote,
                initial_cash=initial_cash,
                cash=initial_cash,
                strategy=config.strategy,
                strategy_params=canonical_json(dict(config.strategy_params)),
                exchange=config.exchange,
                timeframe=config.timeframe.name,
                fee_rate=fills.fee_rate,
                slippage_bps=fills.slippage_bps,
                stake_fraction=fills.stake_fraction,
                created_ts=now,
            )
        )
        return result.inserted_primary_key[0]

    def id_by_name(self, name: str) -> int | None:
        return self._c.execute(select(t.portfolios.c.id).where(t.portfolios.c.name == name)).scalar()

    def get(self, portfolio_id: int, *, lock: bool = False) -> StoredPortfolio:
        """The portfolio with its positions. `lock` holds its row until the transaction ends
        (PostgreSQL; SQLite writers already hold the database's write lock)."""
        query = select(t.portfolios).where(t.portfolios.c.id == portfolio_id)
        if lock and self._c.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._c.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"no portfolio with id {portfolio_id}")
        book = Portfolio(row["initial_cash"], row["cash"], self._positions(portfolio_id))
        return StoredPortfolio(row["id"], _config(row), book, row["created_ts"])

    def list(self) -> list[StoredPortfolio]:
        rows = self._c.execute(select(t.portfolios).order_by(t.portfolios.c.id)).mappings().all()
        positions = self._all_positions()
        return [
            StoredPortfolio(
                row["id"],
                _config(row),
                Portfolio(row["initial_cash"], row["cash"], positions.get(row["id"], {})),
                row["created_ts"],
            )
            for row in rows
        ]

    def save_book(self, portfolio_id: int, book: Portfolio, symbols: Sequence[str], now: int) -> None:
        """Write cash and the positions in `symbols` back after fills were applied."""
        self._c.execute(update(t.portfolios).where(t.portfolios.c.id == portfolio_id).values(cash=book.cash))
        for symbol in symbols:
            self._save_position(portfolio_id, book.positions[symbol], now)

    def _save_position(self, portfolio_id: int, position: Position, now: int) -> None:
        values = {
            "quantity": position.quantity,
            "avg_cost": position.avg_cost,
            "cost_basis": position.cost_basis,
            "realized_pnl": position.realized_pnl,
            "fees_paid": position.fees_paid,
            "updated_ts": now,
        }
        key = (t.positions.c.portfolio_id == portfolio_id) & (t.positions.c.symbol == position.symbol)
        if self._c.execute(update(t.positions).where(key).values(**values)).rowcount == 0:
            self._c.execute(
                insert(t.positions).values(portfolio_id=portfolio_id, symbol=position.symbol, **values)
            )

    def _positions(self, portfolio_id: int) -> dict[str, Position]:
        rows = self._c.execute(
            select(t.positions)
            .where(t.positions.c.portfolio_id == portfolio_id)
            .order_by(t.positions.c.symbol)
        ).mappings()
        return {row["symbol"]: _position(row) for row in rows}

    def _all_positions(self) -> dict[int, dict[str, Position]]:
        grouped: dict[int, dict[str, Position]] = {}
        for row in self._c.execute(select(t.positions).order_by(t.positions.c.symbol)).mappings():
            grouped.setdefault(row["portfolio_id"], {})[row["symbol"]] = _position(row)
        return grouped


class JournalRepository:
    """The append-only audit journal, hash-chained per portfolio."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def append(
        self,
        portfolio_id: int,
        event: str,
        payload: Mapping[str, Any],
        now: int,
        tick_id: int | None = None,
    ) -> None:
        previous = self._c.execute(
            select(t.journal.c.hash)
            .where(t.journal.c.portfolio_id == portfolio_id)
            .order_by(t.journal.c.id.desc())
            .limit(1)
        ).scalar()
        prev_hash = previous or GENESIS_HASH
        body = canonical_json(dict(payload))
        self._c.execute(
            insert(t.journal).values(
                portfolio_id=portfolio_id,
                tick_id=tick_id,
                event=event,
                payload=body,
                prev_hash=prev_hash,
                hash=entry_hash(prev_hash, event, body),
                recorded_ts=now,
            )
        )

    def entries(self, portfolio_id: int) -> list[JournalEntry]:
        rows = self._c.execute(
            select(t.journal).where(t.journal.c.portfolio_id == portfolio_id).order_by(t.journal.c.id)
        ).mappings()
        return [
            JournalEntry(
                r["id"],
                r["tick_id"],
                r["event"],
                json.loads(r["payload"]),
                r["prev_hash"],
                r["hash"],
                r["recorded_ts"],
            )
            for r in rows
        ]

    def count(self, portfolio_id: int) -> int:
        return self._c.execute(
            select(func.count()).select_from(t.journal).where(t.journal.c.portfolio_id == portfolio_id)
        ).scalar_one()


def entry_hash(prev_hash: str, event: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{event}\n{body}".encode()).hexdigest()


def _config(row: Mapping[str, Any]) -> PortfolioConfig:
    return PortfolioConfig(
        name=row["name"],
        quote=row["quote_currency"],
        strategy=row["strategy"],
        strategy_params=json.loads(row["strategy_params"]),
        exchange=row["exchange"],
        timeframe=Timeframe.parse(row["timeframe"]),
        fills=FillModel(row["fee_rate"], row["slippage_bps"], row["stake_fraction"]),
    )


def _position(row: Mapping[str, Any]) -> Position:
    return Position(row["symbol"], row["quantity"], row["cost_basis"], row["realized_pnl"], row["fees_paid"])
