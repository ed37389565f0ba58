"""Looking at an existing SQLite file before papertrade uses it, without writing a byte to it.

Opening a file with papertrade's engine sets WAL journal mode, which rewrites the file's
header: that must only ever happen to a papertrade ledger. So a file is first read through a
read-only connection, and another program's database (or a file that is no database at all)
is refused while it is still exactly as it was.
"""

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from papertrade.errors import InputError, SetupError

_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True, slots=True)
class SqliteFile:
    """What a look at an existing file found: its papertrade schema revision (None for an
    empty database), and whether papertrade may write to it. `read_uri` opens it read-only."""

    path: Path
    revision: str | None
    writable: bool
    read_uri: str


def probe(path: Path) -> SqliteFile:
    """Look at `path` read-only. Raises `InputError` when it is not a papertrade ledger."""
    header = _read_header(path)
    writable = _writable(path)
    if not header:
        return SqliteFile(path, None, writable, _uri(path, "mode=ro"))
    if header != _HEADER:
        raise InputError(f"{path} is not a SQLite database, so not a papertrade ledger (it was left untouched)")
    for options in ("mode=ro", "immutable=1"):  # immutable: a read-only directory takes no -shm file
        try:
            return SqliteFile(path, _revision(path, _uri(path, options)), writable, _uri(path, options))
        except sqlite3.OperationalError as exc:
            if "unable to open" not in str(exc):
                raise SetupError(f"cannot read database {path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise SetupError(f"cannot read database {path}: {exc}") from None
    raise SetupError(f"cannot open database {path} even read-only")


def _read_header(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(len(_HEADER))
    except OSError as exc:
        raise SetupError(f"cannot read database {path}: {exc.strerror}") from None


def _writable(path: Path) -> bool:
    """Whether papertrade may write the file (and the journal files SQLite keeps beside it)."""
    try:
        read_only_mount = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        read_only_mount = False
    return not read_only_mount and os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _uri(path: Path, options: str) -> str:
    return f"{path.resolve().as_uri()}?{options}"


def _revision(path: Path, uri: str) -> str | None:
    connection = sqlite3.connect(uri, uri=True)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "alembic_version" in tables:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            return row[0] if row else None
    finally:
        connection.close()
    if tables:
        raise InputError(
            f"{path} is another program's SQLite database, not a papertrade ledger (it was left untouched): "
            "give --db a new file or an existing ledger"
        )
    return None


def connect_read_only(uri: str, busy_timeout: float):
    """A DB-API connection that cannot write (for `create_engine(creator=...)`)."""
    return sqlite3.connect(uri, uri=True, timeout=busy_timeout, check_same_thread=False)
