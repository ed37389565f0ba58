"""Settings from `PAPERTRADE_*` environment variables (pydantic-settings).

| variable | default | meaning |
|---|---|---|
| PAPERTRADE_DATABASE_URL | SQLite file in the per-user data directory | any SQLAlchemy URL, or a file path |
| PAPERTRADE_DB_BUSY_TIMEOUT | 10 | seconds to wait for a locked SQLite database |
| PAPERTRADE_CCXT_CONFIG | {} | JSON object merged into ccxt's exchange constructor config |
| PAPERTRADE_EXCHANGE_RETRIES | 2 | retries of a request that failed on the network (not on rate limits) |
| PAPERTRADE_EXCHANGE_BACKOFF | 0.5 | seconds before the first retry; doubles for each further one |
| PAPERTRADE_MARKETS_TTL | 86400 | seconds a cached market description (step, minimums) is trusted |
| PAPERTRADE_NOTIFY_TIMEOUT | 5 | seconds all notifications after a tick may take together |
| PAPERTRADE_DEBUG | 0 | 1 shows tracebacks |
"""

import os
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from papertrade.errors import InputError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERTRADE_", extra="ignore")

    database_url: str | None = None
    db_busy_timeout: float = Field(10.0, gt=0, le=600)
    ccxt_config: dict[str, Any] = Field(default_factory=dict)
    exchange_retries: int = Field(2, ge=0, le=5)
    exchange_backoff: float = Field(0.5, ge=0, le=10)
    markets_ttl: float = Field(86_400, ge=0)
    notify_timeout: float = Field(5.0, gt=0, le=60)
    debug: bool = False

    @field_validator("database_url")
    @classmethod
    def _not_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is empty: give a database URL or a SQLite file path, or unset it")
        return value

    @property
    def database(self) -> str:
        """The database URL to use: the configured one, or the per-user default SQLite file."""
        return self.database_url or f"sqlite:///{default_database_path()}"


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with explicit (command-line) values taking precedence."""
    given = {key: value for key, value in overrides.items() if value is not None}
    if "database_url" in given and not given["database_url"].strip():
        raise InputError("--db is empty: give a database URL or a SQLite file path")
    try:
        return Settings(**given)
    except (ValidationError, SettingsError) as exc:
        raise InputError(_describe(exc)) from None


def default_database_path() -> Path:
    """`papertrade.db` in the per-user data directory, never relative to the working directory.

    Linux and other Unix: $XDG_DATA_HOME/papertrade (default ~/.local/share/papertrade);
    macOS: ~/Library/Application Support/papertrade; Windows: %LOCALAPPDATA%\\papertrade.
    """
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "papertrade" / "papertrade.db"


def _describe(exc: ValidationError | SettingsError) -> str:
    """One line naming the environment variable at fault and what it must be."""
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        problem = error["msg"].replace("Input should be", "must be").replace("Value error, ", "")
        problem = problem.replace("a valid dictionary", 'a JSON object, like {"timeout": 10000}')
        return f"PAPERTRADE_{field.upper()} {problem}"
    named = re.search(r'field "(\w+)"', str(exc))  # pydantic-settings names the field, not the variable
    variable = f"PAPERTRADE_{named.group(1).upper()}" if named else "a PAPERTRADE_* setting"
    cause = exc.__cause__
    detail = f" ({str(cause).splitlines()[0]})" if cause is not None and str(cause) else ""
    return f"{variable} is not valid JSON{detail}"
