"""Typed market cache (no ccxt structure is stored any more) and a version on each portfolio.

The cache's JSON descriptions are converted into the typed columns with the same rules the
exchange adapter applies; a description that cannot be converted is dropped, which costs the
next tick of that symbol one market-list request.

Revision ID: 0005_typed_markets
Revises: 0004_notifications
Create Date: 2026-11-26
"""

import json
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from alembic import op

revision = "0005_typed_markets"
down_revision = "0004_notifications"
branch_labels = None
depends_on = None

_TYPED = ("venue_symbol", "base", "quote", "amount_step", "min_amount", "min_cost")


def upgrade() -> None:
    with op.batch_alter_table("portfolios") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    rows = op.get_bind().execute(sa.text("SELECT exchange, symbol, description, fetched_ts FROM markets")).all()
    op.drop_table("markets")
    _create_typed_markets()
    converted = [typed for row in rows if (typed := _converted(*row)) is not None]
    if converted:
        op.bulk_insert(_typed_markets_table(), converted)


def _create_typed_markets() -> None:
    op.create_table(
        "markets",
        sa.Column("exchange", sa.String(50), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("venue_symbol", sa.String(100), nullable=False),
        sa.Column("base", sa.String(20), nullable=False),
        sa.Column("quote", sa.String(20), nullable=False),
        *(sa.Column(name, _amount(), nullable=False) for name in ("amount_step", "min_amount", "min_cost")),
        sa.Column("fetched_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("exchange", "symbol", name="pk_markets"),
    )


def _amount():
    return sa.Numeric().with_variant(sa.Text(), "sqlite")


def _typed_markets_table() -> sa.Table:
    return sa.table(
        "markets",
        *(sa.column(name) for name in ("exchange", "symbol", *_TYPED, "fetched_ts")),
    )


def _converted(exchange: str, symbol: str, description: str, fetched_ts: int) -> dict | None:
    """A cached ccxt description as typed columns, or None when it cannot be read safely."""
    try:
        market = json.loads(description)
        limits = market.get("limits") or {}
        step = _amount_step(exchange, (market.get("precision") or {}).get("amount"))
        values = {
            "venue_symbol": str(market["id"]),
            "base": str(market["base"]),
            "quote": str(market["quote"]),
            "amount_step": step,
            "min_amount": _decimal((limits.get("amount") or {}).get("min")),
            "min_cost": _decimal((limits.get("cost") or {}).get("min")),
        }
    except (ValueError, TypeError, KeyError, AttributeError, InvalidOperation):
        return None
    if step is None:
        return None
    sqlite = op.get_bind().dialect.name == "sqlite"
    amounts = {k: (format(v, "f") if sqlite else v) for k, v in values.items() if isinstance(v, Decimal)}
    return {"exchange": exchange, "symbol": symbol, **values, **amounts, "fetched_ts": fetched_ts}


def _amount_step(exchange: str, precision) -> Decimal | None:
    """The step as the adapter computes it; None when the exchange's precision mode is unknown."""
    if precision is None or _decimal(precision) <= 0:
        return Decimal("0.00000001")
    try:
        import ccxt

        tick_size = getattr(ccxt, exchange)().precisionMode == ccxt.TICK_SIZE
    except Exception:
        return None
    return _decimal(precision) if tick_size else Decimal(1).scaleb(-int(_decimal(precision)))


def _decimal(value) -> Decimal:
    if value is None:
        return Decimal(0)
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def downgrade() -> None:
    op.drop_table("markets")
    op.create_table(
        "markets",
        sa.Column("exchange", sa.String(50), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("fetched_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("exchange", "symbol", name="pk_markets"),
    )
    with op.batch_alter_table("portfolios") as batch:
        batch.drop_column("version")
