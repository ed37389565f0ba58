"""Finding the value that makes a ledger unreadable: which table, which row, which column.

Asked only after reading the ledger failed on a value (a cash of 'lots', settings that are no
JSON): every column of every table is read as the driver returns it, without SQLAlchemy's
conversions, and checked the way papertrade reads it.
"""

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from sqlalchemy import Boolean, Column, Connection, Integer, String, Table, Text

from papertrade.adapters import schema as t

#: The text columns papertrade reads as JSON.
_JSON_COLUMNS = frozenset({"strategy_params", "exits", "indicators", "payload", "size"})


def find_damage(connection: Connection) -> str | None:
    """The first unreadable value as "TABLE row KEY: COLUMN = VALUE is not WHAT", or None."""
    for table in t.metadata.sorted_tables:
        problem = _damaged_row(connection, table)
        if problem is not None:
            return problem
    return None


def _damaged_row(connection: Connection, table: Table) -> str | None:
    checks = [(column, check) for column in table.columns if (check := _check(column)) is not None]
    key = list(table.primary_key.columns)
    names = ", ".join(f'"{column.name}"' for column in [*key, *(column for column, _ in checks)])
    for row in connection.exec_driver_sql(f'SELECT {names} FROM "{table.name}"'):
        for (column, check), value in zip(checks, row[len(key) :], strict=True):
            what = None if value is None and column.nullable else check(value)
            if what is not None:
                return f"{table.name} row {_row_key(key, row)}: {column.name} = {_shown(value)} is not {what}"
    return None


def _check(column: Column) -> Callable[[object], str | None] | None:
    if isinstance(column.type, t.ExactDecimal):
        return _number
    if isinstance(column.type, Boolean):
        return lambda value: None if value in (0, 1, True, False) else "true or false"
    if isinstance(column.type, Integer):
        return lambda value: None if isinstance(value, int) else "an integer"
    if isinstance(column.type, Text | String):
        return _json if column.name in _JSON_COLUMNS else (lambda value: None if isinstance(value, str) else "text")
    return None


def _number(value: object) -> str | None:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value) if isinstance(value, int) else value)
    except (InvalidOperation, TypeError, ValueError):
        return "a number"
    return None if number.is_finite() else "a finite number"


def _json(value: object) -> str | None:
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError, RecursionError):
        return "JSON"
    return None if isinstance(parsed, dict) else "a JSON object"


def _row_key(key: list[Column], row) -> str:
    if len(key) == 1:
        return str(row[0])
    return "(" + ", ".join(f"{column.name}={value!r}" for column, value in zip(key, row, strict=False)) + ")"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
