"""What every command shares: the global options, settings, the ledger and the clock."""

import time
from dataclasses import dataclass

import typer

#: The ledgers the running command opened: where `main` looks for a damaged value that explains
#: an unexpected failure (a value edited behind papertrade's back, read outside a transaction).
OPENED: list = []


@dataclass
class CliState:
    db: str | None = None
    context: typer.Context | None = None

    def settings(self):
        from papertrade.settings import load_settings

        return load_settings(database_url=self.db)

    def ledger(self, *, create: bool = False, durable: bool = True):
        """The ledger; None when a SQLite file does not exist and `create` is false."""
        from papertrade.bootstrap import open_ledger

        ledger = open_ledger(self.settings(), create=create, durable=durable)
        if ledger is not None:
            OPENED.append(ledger)
        if ledger is not None and self.context is not None:
            # Closing every connection checkpoints SQLite's WAL into the file before exit.
            self.context.call_on_close(ledger.dispose)
        return ledger

    def study_store(self, storage: str | None):
        """Where studies are kept: `storage`, or `studies.db` beside the ledger (never the ledger)."""
        from papertrade.bootstrap import open_study_store

        return open_study_store(self.settings(), storage)

    def ledger_file(self):
        """The ledger's SQLite file, which no output may overwrite; None on PostgreSQL, or when
        the setting names no file (then only the refusal of every SQLite database applies)."""
        from papertrade.adapters.database import resolve_url, sqlite_path
        from papertrade.errors import PapertradeError

        try:
            return sqlite_path(resolve_url(self.settings().database))
        except PapertradeError:
            return None


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def long_running() -> None:
    """Collect garbage again from here on (see `main`), never rescanning what start-up made."""
    import gc

    gc.freeze()
    gc.enable()


def now_ms() -> int:
    return time.time_ns() // 1_000_000
