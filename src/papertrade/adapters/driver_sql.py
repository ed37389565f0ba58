"""Queries on a tick's hot path, compiled once per dialect and run on the driver's own cursor.

SQLAlchemy's statement machinery (cache keys, execution contexts, result objects) costs a
small indexed query several times what the database itself spends on it. The few reads every
tick makes go through here instead: the statement is still a Core construct, compiled by
SQLAlchemy for the connection's dialect, but run with the driver's cursor, inside the
transaction the unit of work has open. Only plain parameters (ints and strings) go in; what
comes out is converted by the caller (amounts come back as text on SQLite, `Decimal` on
PostgreSQL, and `Decimal(...)` takes both exactly).
"""

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

from papertrade.domain.money import to_plain


def _same(value: Decimal) -> Decimal:
    return value


def amounts_for(connection: Connection) -> Callable[[Decimal], Any]:
    """How `ExactDecimal` stores an amount on the connection's database: canonical text on
    SQLite, the `Decimal` itself (NUMERIC) elsewhere; for values passed to the driver directly."""
    return to_plain if connection.dialect.name == "sqlite" else _same


def run_on_driver(connection: Connection, sql: str, values=()) -> list[tuple]:
    """Run `sql` on the driver's cursor; its errors become SQLAlchemy's, as if SQLAlchemy ran it."""
    error = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(sql, values)
        return cursor.fetchall() if cursor.description else []
    except error as exc:
        raise DBAPIError.instance(sql, values, exc, error) from exc
    finally:
        cursor.close()


class DriverQuery:
    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple]:
        sql, order, fixed = self._compiled_for(connection)
        given = {**fixed, **params}  # the statement's own values (a LIMIT) and the caller's
        values = tuple(given[name] for name in order) if order is not None else given
        return run_on_driver(connection, sql, values)

    def run_many(self, connection: Connection, names: tuple[str, ...], rows: Sequence[tuple]) -> None:
        """Run the statement once per row of values (`names` says which is which), in one
        executemany on the driver's cursor."""
        sql, order, _ = self._compiled_for(connection)
        if order is None:
            values: Sequence = [dict(zip(names, row, strict=True)) for row in rows]
        elif tuple(order) == names:
            values = rows
        else:
            at = [names.index(name) for name in order]
            values = [tuple(row[i] for i in at) for row in rows]
        error = connection.dialect.loaded_dbapi.Error
        cursor = connection.connection.driver_connection.cursor()
        try:
            cursor.executemany(sql, values)
        except error as exc:
            raise DBAPIError.instance(sql, values[:1], exc, error) from exc
        finally:
            cursor.close()

    def scalar(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        rows = self.rows(connection, params)
        return rows[0][0] if rows else None

    def _compiled_for(self, connection: Connection):
        name = connection.dialect.name
        if name not in self._compiled:
            compiled = self._statement.compile(dialect=connection.dialect)
            order = tuple(compiled.positiontup) if compiled.positional else None
            fixed = {key: value for key, value in compiled.params.items() if value is not None}
            self._compiled[name] = (compiled.string, order, fixed)
        return self._compiled[name]
