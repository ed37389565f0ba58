"""Repositories: the ledger tables mapped to and from domain objects (SQLAlchemy Core)."""

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from papertrade.adapters import schema as t
from papertrade.adapters.driver_sql import DriverQuery, amounts_for
from papertrade.domain.fills import FillModel
from papertrade.domain.journal import GENESIS_HASH, JournalEntry, canonical_json, entry_hash
from papertrade.domain.ledger import Book, Fill, Position, Side
from papertrade.domain.margin import MarginRules
from papertrade.domain.orders import SIGNAL, Exits, OrderKind, RestingOrder, Size
from papertrade.domain.portfolio import Portfolio, PortfolioConfig
from papertrade.domain.ticks import TickAlreadyClaimed, TickKey, TickRecord, TradeRecord
from papertrade.domain.timeframes import Timeframe
from papertrade.errors import NotFound

#: Ids are 32-bit integers on every database; anything outside cannot name a row.
MAX_ID = 2**31 - 1


# Statements on a tick's path are built once: constructing SQLAlchemy expressions costs more
# than running them on a small indexed table.
_LIVE = t.portfolios.c.deleted_ts.is_(None)  # a deleted portfolio is gone from every command
_PORTFOLIO = select(t.portfolios).where(t.portfolios.c.id == bindparam("pid"), _LIVE)
_PORTFOLIO_LOCKED = _PORTFOLIO.with_for_update()
_POSITIONS = select(t.positions).where(t.positions.c.portfolio_id == bindparam("pid")).order_by(t.positions.c.symbol)
_VERSION = DriverQuery(select(t.portfolios.c.version).where(t.portfolios.c.id == bindparam("pid"), _LIVE))
_VERSION_LOCKED = DriverQuery(
    select(t.portfolios.c.version).where(t.portfolios.c.id == bindparam("pid"), _LIVE).with_for_update()
)
_SAVE_CASH = (
    update(t.portfolios)
    .where(t.portfolios.c.id == bindparam("pid"))
    .values(cash=bindparam("new_cash", type_=t.ExactDecimal()), version=t.portfolios.c.version + 1)
)
_TOUCH = update(t.portfolios).where(t.portfolios.c.id == bindparam("pid")).values(version=t.portfolios.c.version + 1)
_POSITION_AMOUNTS = ("quantity", "avg_cost", "cost_basis", "realized_pnl", "fees_paid", "funding_paid", "leverage")
_UPDATE_POSITION = (
    update(t.positions)
    .where(t.positions.c.portfolio_id == bindparam("pid"), t.positions.c.symbol == bindparam("sym"))
    .values(
        **{name: bindparam(f"new_{name}", type_=t.ExactDecimal()) for name in _POSITION_AMOUNTS},
        updated_ts=bindparam("new_updated_ts"),
    )
)
_INSERT_POSITION = insert(t.positions)
_LAST_HASH = (
    select(t.journal.c.hash)
    .where(t.journal.c.portfolio_id == bindparam("pid"))
    .order_by(t.journal.c.id.desc())
    .limit(1)
)
_INSERT_JOURNAL = insert(t.journal)
_INSERT_TRADE = insert(t.trades)


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
                exits=canonical_json(config.exits.as_dict()),
                allow_short=config.allow_short,
                maintenance_margin=config.margin.maintenance_rate,
                liquidation_fee=config.margin.liquidation_fee_rate,
                leverage=config.margin.leverage,
                fill=config.fill,
                max_slippage=config.max_slippage,
                maker_fee=fills.maker_rate,
                fees_from_exchange=config.fees_from_exchange,
                created_ts=now,
            )
        )
        return result.inserted_primary_key[0]

    def id_by_name(self, name: str) -> int | None:
        return self._c.execute(select(t.portfolios.c.id).where(t.portfolios.c.name == name)).scalar()

    def get(self, portfolio_id: int, *, lock: bool = False, with_positions: bool = True) -> Portfolio:
        """The portfolio with its positions (unless `with_positions` is false). `lock` holds its row
        until the transaction ends (PostgreSQL; SQLite writers already hold the write lock)."""
        row = self._row(_PORTFOLIO_LOCKED if lock and self._locks_rows else _PORTFOLIO, portfolio_id).mappings().first()
        if row is None:
            raise NotFound(f"no portfolio with id {portfolio_id}")
        positions = self._positions(portfolio_id) if with_positions else {}
        book = Book(row["initial_cash"], row["cash"], positions, bool(row["allow_short"]))
        orders = OrderRepository(self._c).of(portfolio_id) if with_positions else ()
        return _portfolio(row, book, orders)

    def version(self, portfolio_id: int, *, lock: bool = False) -> int:
        """The portfolio's version; `lock` as for `get`."""
        if not 1 <= portfolio_id <= MAX_ID:
            raise NotFound(f"no portfolio with id {portfolio_id}")
        query = _VERSION_LOCKED if lock and self._locks_rows else _VERSION
        version = query.scalar(self._c, {"pid": portfolio_id})
        if version is None:
            raise NotFound(f"no portfolio with id {portfolio_id}")
        return version

    @property
    def _locks_rows(self) -> bool:
        """PostgreSQL locks rows; SQLite writers already hold the whole database."""
        return self._c.dialect.name == "postgresql"

    def _row(self, query, portfolio_id: int):
        if not 1 <= portfolio_id <= MAX_ID:
            raise NotFound(f"no portfolio with id {portfolio_id}")
        return self._c.execute(query, {"pid": portfolio_id})

    def list(self, *, archived: bool = False) -> list[Portfolio]:
        """Every portfolio in id order; archived ones only when `archived`; deleted ones never."""
        query = select(t.portfolios).where(_LIVE).order_by(t.portfolios.c.id)
        if not archived:
            query = query.where(t.portfolios.c.archived_ts.is_(None))
        rows = self._c.execute(query).mappings().all()
        positions, orders = self._all_positions(), OrderRepository(self._c).by_portfolio()
        return [
            _portfolio(
                row,
                Book(row["initial_cash"], row["cash"], positions.get(row["id"], {}), bool(row["allow_short"])),
                orders.get(row["id"], ()),
            )
            for row in rows
        ]

    def update(self, portfolio_id: int, config: PortfolioConfig, archived_ts: int | None) -> None:
        """Store changed settings (name, fill model, strategy parameters) and the archived time,
        and advance the version so a tick that decided on the old settings decides again."""
        self._c.execute(
            update(t.portfolios)
            .where(t.portfolios.c.id == portfolio_id, _LIVE)
            .values(
                name=config.name,
                strategy_params=canonical_json(dict(config.strategy_params)),
                fee_rate=config.fills.fee_rate,
                slippage_bps=config.fills.slippage_bps,
                stake_fraction=config.fills.stake_fraction,
                exits=canonical_json(config.exits.as_dict()),
                fill=config.fill,
                max_slippage=config.max_slippage,
                maker_fee=config.fills.maker_rate,
                fees_from_exchange=config.fees_from_exchange,
                leverage=config.margin.leverage,
                archived_ts=archived_ts,
                version=t.portfolios.c.version + 1,
            )
        )

    def delete(self, portfolio_id: int, now: int) -> None:
        """Take the portfolio out of every command and free its name; its rows stay, for the
        append-only journal refers to them."""
        tombstone = f"\x1fdeleted {portfolio_id}"  # a name no user can type (control character)
        self._c.execute(
            update(t.portfolios)
            .where(t.portfolios.c.id == portfolio_id, _LIVE)
            .values(name=tombstone, deleted_ts=now, version=t.portfolios.c.version + 1)
        )

    def touch(self, portfolio_id: int) -> None:
        """Advance the portfolio's version (its resting orders changed, its book did not)."""
        self._c.execute(_TOUCH, {"pid": portfolio_id})

    def save_book(self, portfolio_id: int, book: Book, symbols: Sequence[str], now: int) -> None:
        """Write cash and the positions in `symbols` back after fills were applied, and advance
        the portfolio's version."""
        self._c.execute(_SAVE_CASH, {"pid": portfolio_id, "new_cash": book.cash})
        for symbol in symbols:
            self._save_position(portfolio_id, book.positions[symbol], now)

    def _save_position(self, portfolio_id: int, position: Position, now: int) -> None:
        values = {name: getattr(position, name) for name in _POSITION_AMOUNTS}
        changed = {f"new_{name}": value for name, value in values.items()}
        key = {"pid": portfolio_id, "sym": position.symbol}
        if self._c.execute(_UPDATE_POSITION, {**key, **changed, "new_updated_ts": now}).rowcount == 0:
            row = {"portfolio_id": portfolio_id, "symbol": position.symbol, **values, "updated_ts": now}
            self._c.execute(_INSERT_POSITION, row)

    def _positions(self, portfolio_id: int) -> dict[str, Position]:
        rows = self._c.execute(_POSITIONS, {"pid": portfolio_id}).mappings()
        return {row["symbol"]: _position(row) for row in rows}

    def _all_positions(self) -> dict[int, dict[str, Position]]:
        grouped: dict[int, dict[str, Position]] = {}
        for row in self._c.execute(select(t.positions).order_by(t.positions.c.symbol)).mappings():
            grouped.setdefault(row["portfolio_id"], {})[row["symbol"]] = _position(row)
        return grouped


class OrderRepository:
    """A portfolio's resting orders: what `Portfolio.orders` holds, rewritten symbol by symbol."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def of(self, portfolio_id: int) -> list[RestingOrder]:
        c = t.orders.c
        query = select(t.orders).where(c.portfolio_id == portfolio_id).order_by(c.symbol, c.placed_ts, c.kind)
        return [_order(row) for row in self._c.execute(query).mappings()]

    def by_portfolio(self) -> dict[int, list[RestingOrder]]:
        c = t.orders.c
        grouped: dict[int, list[RestingOrder]] = {}
        for row in self._c.execute(select(t.orders).order_by(c.portfolio_id, c.symbol, c.placed_ts, c.kind)).mappings():
            grouped.setdefault(row["portfolio_id"], []).append(_order(row))
        return grouped

    def replace(self, portfolio_id: int, symbol: str, orders: Sequence[RestingOrder]) -> None:
        """Make `orders` the resting orders of `symbol` (the caller advances the version)."""
        c = t.orders.c
        self._c.execute(delete(t.orders).where(c.portfolio_id == portfolio_id, c.symbol == symbol))
        if orders:
            self._c.execute(insert(t.orders), [_order_row(portfolio_id, order) for order in orders])


def _order_row(portfolio_id: int, order: RestingOrder) -> dict[str, Any]:
    return {
        "portfolio_id": portfolio_id,
        "symbol": order.symbol,
        "kind": str(order.kind),
        "placed_ts": order.placed_ts,
        "side": str(order.side),
        "price": order.price,
        "expires_ts": order.expires_ts,
        "size": None if order.size is None else canonical_json({"unit": order.size.unit, "value": order.size.value}),
        "exits": None if order.exits is None else canonical_json(order.exits.as_dict()),
        "trail": order.trail,
    }


def _order(row: Mapping[str, Any]) -> RestingOrder:
    size = None if row["size"] is None else _object(row["size"])
    return RestingOrder(
        row["symbol"],
        OrderKind(row["kind"]),
        Side(row["side"]),
        row["price"],
        row["placed_ts"],
        row["expires_ts"],
        None if size is None else Size(size["unit"], Decimal(size["value"])),
        None if row["exits"] is None else Exits.from_dict(_object(row["exits"])),
        row["trail"],
    )


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
        previous = self._c.execute(_LAST_HASH, {"pid": portfolio_id}).scalar()
        prev_hash = previous or GENESIS_HASH
        body = canonical_json(dict(payload))
        entry = {
            "portfolio_id": portfolio_id,
            "tick_id": tick_id,
            "event": event,
            "payload": body,
            "prev_hash": prev_hash,
            "hash": entry_hash(prev_hash, event, body),
            "recorded_ts": now,
        }
        self._c.execute(_INSERT_JOURNAL, entry)

    def entries(self, portfolio_id: int, event: str | None = None) -> list[JournalEntry]:
        query = select(t.journal).where(t.journal.c.portfolio_id == portfolio_id)
        if event is not None:
            query = query.where(t.journal.c.event == event)
        rows = self._c.execute(query.order_by(t.journal.c.id)).mappings()
        return [
            JournalEntry(
                r["id"],
                r["tick_id"],
                r["event"],
                _payload(r["payload"]),
                r["payload"],
                r["prev_hash"],
                r["hash"],
                r["recorded_ts"],
            )
            for r in rows
        ]


def _object(text: str) -> dict[str, Any]:
    """A stored JSON object; `ValueError` for anything else (the ledger was edited: the unit of
    work then names the table and row, see `adapters/damage.py`)."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"not a JSON object: {text[:40]!r}")
    return value


def _payload(body: str) -> dict[str, Any] | None:
    """A journal entry's payload; None when it is not a JSON object (someone altered it)."""
    try:
        payload = json.loads(body)
    except (TypeError, ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def _portfolio(row: Mapping[str, Any], book: Book, orders=()) -> Portfolio:
    return Portfolio(row["id"], _config(row), book, row["created_ts"], row["version"], row["archived_ts"],
                     orders=tuple(orders))  # fmt: skip


def _config(row: Mapping[str, Any]) -> PortfolioConfig:
    return PortfolioConfig(
        name=row["name"],
        quote=row["quote_currency"],
        strategy=row["strategy"],
        strategy_params=_object(row["strategy_params"]),
        exchange=row["exchange"],
        timeframe=Timeframe.parse(row["timeframe"]),
        fills=FillModel(row["fee_rate"], row["slippage_bps"], row["stake_fraction"], row["maker_fee"]),
        exits=Exits.from_dict(_object(row["exits"])),
        allow_short=bool(row["allow_short"]),
        margin=MarginRules(row["leverage"], row["maintenance_margin"], row["liquidation_fee"]),
        fill=row["fill"],
        max_slippage=row["max_slippage"],
        fees_from_exchange=bool(row["fees_from_exchange"]),
    )


def _position(row: Mapping[str, Any]) -> Position:
    return Position(row["symbol"], row["quantity"], row["cost_basis"], row["realized_pnl"], row["fees_paid"],
                    row["funding_paid"], row["leverage"])  # fmt: skip


_LATEST_TICK = DriverQuery(
    select(t.ticks)
    .where(
        t.ticks.c.portfolio_id == bindparam("portfolio_id"),
        t.ticks.c.strategy == bindparam("strategy"),
        t.ticks.c.symbol == bindparam("symbol"),
    )
    .order_by(t.ticks.c.candle_ts.desc())
    .limit(1)
)


class TickRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def latest(self, portfolio_id: int, strategy: str, symbol: str) -> TickRecord | None:
        """The tick of the latest candle processed for (portfolio, strategy, symbol)."""
        params = {"portfolio_id": portfolio_id, "strategy": strategy, "symbol": symbol}
        rows = _LATEST_TICK.rows(self._c, params)
        return _tick(_decoded_tick(rows[0])) if rows else None

    def latest_per_symbol(self, portfolio_id: int) -> list[TickRecord]:
        """The latest tick of each symbol the portfolio has ticked, by symbol.

        The newest candles are found per (strategy, symbol), the order of the tick key's index,
        so the database reads them from the index alone (a portfolio with 100,000 ticks: a
        fraction of the time); of a symbol's, only the newest stay.
        """
        c = t.ticks.c
        newest = (
            select(c.strategy, c.symbol, func.max(c.candle_ts).label("candle_ts"))
            .where(c.portfolio_id == portfolio_id)
            .group_by(c.strategy, c.symbol)
            .subquery()
        )
        same = (c.strategy == newest.c.strategy) & (c.symbol == newest.c.symbol) & (c.candle_ts == newest.c.candle_ts)
        query = select(t.ticks).join(newest, same).where(c.portfolio_id == portfolio_id).order_by(c.symbol, c.id)
        ticks = [_tick(row) for row in self._c.execute(query).mappings()]
        newest_of: dict[str, int] = {}
        for tick in ticks:
            newest_of[tick.key.symbol] = max(newest_of.get(tick.key.symbol, tick.key.candle_ts), tick.key.candle_ts)
        return [tick for tick in ticks if tick.key.candle_ts == newest_of[tick.key.symbol]]

    def claim(self, record: TickRecord) -> int:
        """Store the tick, claiming its key; `TickAlreadyClaimed` if another run claimed it first.

        Once per LIVE tick: compiled once and run on the driver (see `driver_sql`)."""
        key, amount = record.key, amounts_for(self._c)
        row = {
            "portfolio_id": key.portfolio_id,
            "strategy": key.strategy,
            "symbol": key.symbol,
            "candle_ts": key.candle_ts,
            "signal": record.signal,
            "status": record.status,
            "reason": record.reason,
            "indicators": canonical_json(record.indicators),
            "close": amount(record.close),
            "cash_after": amount(record.cash_after),
            "position_after": amount(record.position_after),
            "skipped": record.skipped,
            "processed_ts": record.processed_ts,
            "margin_basis_after": amount(record.margin_basis_after),
        }
        try:
            return _CLAIM_TICK.scalar(self._c, row)
        except IntegrityError as exc:
            raise TickAlreadyClaimed(str(key)) from exc

    def equity_columns(self, portfolio_id: int):
        """Every processed candle in time order as columns (see `read_models.tick_columns`)."""
        from papertrade.adapters.read_models import tick_columns

        return tick_columns(self._c, portfolio_id)

    def recent(self, portfolio_id: int, symbol: str | None = None, last: int | None = None) -> list[TickRecord]:
        """The `last` latest processed candles (all when None), of `symbol` or every symbol, oldest first."""
        c = t.ticks.c
        query = select(t.ticks).where(c.portfolio_id == portfolio_id)
        if symbol is not None:
            query = query.where(c.symbol == symbol)
        query = query.order_by(c.candle_ts.desc(), c.id.desc())
        if last is not None:
            query = query.limit(last)
        return [_tick(row) for row in reversed(self._c.execute(query).mappings().all())]

    def with_ids(self, portfolio_id: int) -> "list[tuple[int, TickRecord]]":
        """Every tick of the portfolio with its id, in the order they were processed (id order)."""
        c = t.ticks.c
        rows = self._c.execute(select(t.ticks).where(c.portfolio_id == portfolio_id).order_by(c.id)).mappings()
        return [(row["id"], _tick(row)) for row in rows]

    def list(self, portfolio_id: int) -> list[TickRecord]:
        c = t.ticks.c
        rows = self._c.execute(
            select(t.ticks).where(c.portfolio_id == portfolio_id).order_by(c.candle_ts, c.id)
        ).mappings()
        return [_tick(row) for row in rows]


class TradeRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(
        self,
        portfolio_id: int,
        tick_id: int,
        candle_ts: int,
        fill: Fill,
        realized_pnl: Decimal,
        cash_after: Decimal,
        now: int,
        kind: str = SIGNAL,
        floored: Decimal = Decimal(0),
        reference: Decimal | None = None,
    ) -> int:
        row = {
            "portfolio_id": portfolio_id,
            "tick_id": tick_id,
            "kind": kind,
            "symbol": fill.symbol,
            "side": str(fill.side),
            "candle_ts": candle_ts,
            "quantity": fill.quantity,
            "price": fill.price,
            "notional": fill.notional,
            "fee": fill.fee,
            "realized_pnl": realized_pnl,
            "cash_after": cash_after,
            "executed_ts": now,
            "floored": floored,
            "reference_price": reference,
        }
        return self._c.execute(_INSERT_TRADE, row).inserted_primary_key[0]

    def list(self, portfolio_id: int, symbol: str | None = None) -> list[TradeRecord]:
        c = t.trades.c
        query = select(t.trades).where(c.portfolio_id == portfolio_id)
        if symbol is not None:
            query = query.where(c.symbol == symbol)
        rows = self._c.execute(query.order_by(c.candle_ts, c.id)).mappings()
        return [_trade_record(row) for row in rows]

    def by_portfolio(self) -> "dict[int, list[TradeRecord]]":  # `list` here is the method above
        """Every portfolio's trades, as `list` gives them, in one query (not one per portfolio)."""
        c = t.trades.c
        grouped: dict[int, list[TradeRecord]] = {}
        for row in self._c.execute(select(t.trades).order_by(c.portfolio_id, c.candle_ts, c.id)).mappings():
            record = _trade_record(row)
            grouped.setdefault(record.portfolio_id, []).append(record)
        return grouped


_TRADE_RECORD_FIELDS = tuple(TradeRecord.__dataclass_fields__)


def _trade_record(row: Mapping[str, Any]) -> TradeRecord:
    return TradeRecord(**{name: row[name] for name in _TRADE_RECORD_FIELDS})


_TICK_COLUMNS = tuple(column.name for column in t.ticks.columns)
_TICK_AMOUNTS = ("close", "cash_after", "position_after", "margin_basis_after")
_CLAIM_TICK = DriverQuery(
    insert(t.ticks).values({name: bindparam(name) for name in _TICK_COLUMNS if name != "id"}).returning(t.ticks.c.id)
)


def _decoded_tick(values: tuple) -> dict[str, Any]:
    """A tick row as the driver returned it, with its amounts as `Decimal`s."""
    row = dict(zip(_TICK_COLUMNS, values, strict=True))
    for name in _TICK_AMOUNTS:
        row[name] = Decimal(row[name])
    return row


def _tick(row: Mapping[str, Any]) -> TickRecord:
    key = TickKey(row["portfolio_id"], row["strategy"], row["symbol"], row["candle_ts"])
    return TickRecord(
        key,
        row["signal"],
        row["status"],
        row["reason"],
        _object(row["indicators"]),
        row["close"],
        row["cash_after"],
        row["position_after"],
        row["skipped"],
        row["processed_ts"],
        row["margin_basis_after"],
    )


#: A tick journal row as a `TickRecord` (for read models that select whole rows).
tick_record = _tick
