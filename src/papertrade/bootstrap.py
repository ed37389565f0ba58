"""The composition root: every command builds papertrade's parts (the ledger, exchange clients,
schema engines) here, from settings. Nothing is created at import time."""

from papertrade.adapters.database import make_engine, resolve_url, sqlite_path
from papertrade.adapters.migrator import ensure_current
from papertrade.adapters.unit_of_work import Ledger
from papertrade.errors import InputError, SetupError
from papertrade.settings import Settings


def open_ledger(settings: Settings, *, create: bool = False, durable: bool = True) -> Ledger | None:
    """Open the ledger the settings name, checking (and for SQLite, upgrading) its schema.

    A SQLite file that does not exist yet is created (mode 0600) only when `create` is true;
    otherwise the result is None, so commands that only read never leave a file behind. An
    existing file is looked at read-only first: only a papertrade ledger is ever opened for
    writing, and an empty file becomes one only when `create` is true.
    `durable` false lets SQLite commits skip waiting for the disk (see `make_engine`).
    """
    url = resolve_url(settings.database)
    path = sqlite_path(url)
    read_only_uri = None
    if path is not None:
        if not _sqlite_file_ready(path, create):
            return None
        read_only_uri = _read_only_uri(path, create)
    engine = make_engine(url, settings.db_busy_timeout, durable=durable, read_only_uri=read_only_uri)
    try:
        ensure_current(engine, url, auto_upgrade=path is not None)
    except BaseException:
        engine.dispose()  # close what was opened, so a refused SQLite file is left as it was
        raise
    return Ledger(engine, url)


def _sqlite_file_ready(path, create: bool) -> bool:
    """Whether a file is at `path`, creating it when `create` is true; refuses a directory, a
    pipe, a device (before anything opens it: a pipe would block forever)."""
    from papertrade.adapters.sqlite_files import existing_kind

    kind = existing_kind(path)
    if kind == "directory":
        raise SetupError(f"cannot open database {path}: it is a directory")
    if kind is None:
        if not create:
            return False
        from papertrade.adapters.database import create_sqlite_file

        create_sqlite_file(path)
    return True


def _read_only_uri(path, create: bool) -> str | None:
    """Look at an existing SQLite file without writing to it: refuse anything but a ledger (or,
    when `create`, an empty file to make one), and give the URI to read a ledger papertrade may
    not write (None when it may)."""
    from papertrade.adapters.database import HEAD
    from papertrade.adapters.sqlite_files import probe

    probed = probe(path)
    if probed.empty and not create:
        raise InputError(
            f"{path} is empty, not a papertrade ledger (it was left untouched): create a portfolio to "
            "make it one, or give --db an existing ledger"
        )
    if probed.writable:
        return None
    if probed.revision != HEAD:
        raise SetupError(
            f"database {path} is read-only and at schema {probed.revision or 'none'}, but this papertrade "
            f"needs {HEAD}: let papertrade write it once (or run `papertrade db upgrade` as its owner)"
        )
    return probed.read_uri


def open_readonly_ledger(settings: Settings):
    """The ledger the settings name, opened so that nothing can write to it (the dashboard's)."""
    from papertrade.adapters.readonly import open_readonly

    return open_readonly(settings.database, settings.db_busy_timeout)


def exchange_client(settings: Settings, exchange_id: str):
    """A new ccxt-backed market data source for `exchange_id`, as the settings describe it."""
    from papertrade.adapters.exchange import CcxtMarketData

    return CcxtMarketData(
        exchange_id, settings.ccxt_config, retries=settings.exchange_retries, backoff=settings.exchange_backoff
    )


def check_exchange(exchange_id: str) -> str:
    """`exchange_id` when ccxt knows the exchange; `InputError` otherwise. No request is made."""
    from papertrade.adapters.exchange import check_exchange_id

    return check_exchange_id(exchange_id)


def market_data_factory(settings: Settings):
    """A function from exchange id to the ccxt-backed market data source the settings describe.

    Each exchange's client is built once and reused by every tick in the process.
    """
    from functools import cache

    @cache
    def market_data_for(exchange_id: str):
        return exchange_client(settings, exchange_id)

    return market_data_for


def schema_engine(settings: Settings, *, create: bool):
    """The configured database's URL and an engine for it, without the schema check that
    `open_ledger` does (schema commands are how an operator deals with the schema). Another
    program's file, or (unless `create`) an empty one, is refused before anything touches it."""
    from papertrade.adapters.database import make_engine, resolve_url, sqlite_path

    url = resolve_url(settings.database)
    path = sqlite_path(url)
    read_only_uri = None
    if path is not None:
        if not _sqlite_file_ready(path, create):
            raise SetupError(f"no database at {path} yet: create a portfolio or run `papertrade db upgrade`")
        read_only_uri = _read_only_uri(path, create) if create else _schema_read_uri(path)
    return url, make_engine(url, settings.db_busy_timeout, read_only_uri=read_only_uri)


def _schema_read_uri(path) -> str:
    """`db current` only reads: always through a read-only connection, never an empty file."""
    from papertrade.adapters.sqlite_files import probe

    probed = probe(path)
    if probed.empty:
        raise InputError(f"{path} is empty, not a papertrade ledger (it was left untouched)")
    return probed.read_uri


def make_notifier(settings: Settings, ledger: Ledger | None, *, live: bool):
    """The notifier of a command's ticks: sends through Apprise within PAPERTRADE_NOTIFY_TIMEOUT;
    does nothing at all without a ledger or for DRY ticks."""
    from papertrade.adapters.apprise_sender import AppriseSender
    from papertrade.services.notifications import Notifier

    return Notifier(ledger, AppriseSender(), settings.notify_timeout, enabled=live and ledger is not None)


def open_study_store(settings: Settings, storage: str | None):
    """The study storage (`papertrade.adapters.studies`): `storage`, or `studies.db` beside a
    SQLite ledger; refused when it is the ledger's own database. Nothing is created until a
    study is written."""
    from papertrade.adapters.studies import OptunaStudies, storage_url
    from papertrade.settings import default_database_path

    return OptunaStudies(storage_url(storage, settings.database, default_database_path().parent))


def open_cluster(workers: int, scheduler: str | None, timeout: float):
    """Where trials run: the Dask cluster at `scheduler`, a LocalCluster of `workers`
    processes, or this process alone when `workers` is 1."""
    from papertrade.adapters.cluster import DaskCluster, InProcess

    if scheduler is not None:
        return DaskCluster.connect(scheduler, timeout)
    if workers == 1:
        return InProcess()
    return DaskCluster.local(workers)
