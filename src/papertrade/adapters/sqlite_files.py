"""Looking at an existing SQLite file before papertrade uses it, without writing a byte to it.

Opening a file with papertrade's engine sets WAL journal mode, which rewrites the file's
header: that must only ever happen to a papertrade ledger. So a file is first read through a
read-only connection, and another program's database (or a file that is no database at all, or
a pipe, or a device) is refused while it is still exactly as it was.
"""

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from papertrade.adapters.database import refuse_unless_papertrade, schema_owner
from papertrade.adapters.user_files import describe_kind
from papertrade.errors import InputError, SetupError

_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True, slots=True)
class SqliteFile:
    """What a look at an existing file found: its papertrade schema revision (None when
    `empty`: a file of no bytes or a database of no tables), and whether papertrade may write
    to it. `read_uri` opens it read-only."""

    path: Path
    revision: str | None
    writable: bool
    read_uri: str
    empty: bool = False


def existing_kind(path: Path) -> str | None:
    """None when nothing is at `path`; "file" for a regular file, "directory" for one.
    `InputError` for anything else (a pipe would block the first read, a device never ends)."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None  # a parent that is a file: creating it says so
    except OSError as exc:
        raise SetupError(f"cannot use database {path}: {exc.strerror}") from None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    raise InputError(f"{path} is {describe_kind(mode)}, not a database file (it was left untouched)")


def probe(path: Path) -> SqliteFile:
    """Look at `path` read-only. Raises `InputError` when it is not a papertrade ledger."""
    header = _read_header(path)
    writable = _writable(path)
    if not header:
        return SqliteFile(path, None, writable, _uri(path, "mode=ro"), empty=True)
    if header[: len(_HEADER)] != _HEADER:
        raise InputError(f"{path} is not a SQLite database, so not a papertrade ledger (it was left untouched)")
    _, revision, tables = _first_that_opens(path, _looking_options(path, header))
    owner = schema_owner(revision, tables)
    if owner == "other":  # a newer papertrade's ledger is papertrade's: the engine says it is newer
        refuse_unless_papertrade(owner, revision, str(path), "SQLite database")
    read_uri = _uri(path, "mode=ro") if writable else _first_that_opens(path, ("mode=ro", "immutable=1"))[0]
    return SqliteFile(path, revision, writable, read_uri, empty=owner == "empty")


def _looking_options(path: Path, header: bytes) -> tuple[str, ...]:
    """How to open a file just to look at it. A WAL database that no program has open (no -wal
    file beside it) is read as immutable: a read-only connection would create -wal and -shm
    files beside another program's database and could not remove them."""
    in_wal_mode = len(header) >= 20 and header[18] == header[19] == 2
    if in_wal_mode and not os.path.lexists(f"{path}-wal"):
        return ("immutable=1", "mode=ro")
    return ("mode=ro", "immutable=1")  # immutable: a read-only directory takes no -shm file


def _first_that_opens(path: Path, options: tuple[str, ...]) -> tuple[str, str | None, set[str]]:
    """The URI of the first of `options` that opens the file, and what it holds."""
    for option in options:
        uri = _uri(path, option)
        try:
            return (uri, *_schema(uri))
        except sqlite3.DatabaseError as exc:  # immutable meeting a writer's checkpoint: try the next
            if option == options[-1] or ("unable to open" not in str(exc) and option == "mode=ro"):
                raise SetupError(f"cannot read database {path}: {exc}") from None
    raise SetupError(f"cannot open database {path} even read-only")


def _read_header(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # never waits on a pipe
    except OSError as exc:
        raise SetupError(f"cannot read database {path}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # it changed since `existing_kind` looked
            raise InputError(f"{path} is {describe_kind(mode)}, not a database file (it was left untouched)")
        return os.read(fd, 100)  # SQLite's header: its magic string, then the journal mode (18, 19)
    except OSError as exc:
        raise SetupError(f"cannot read database {path}: {exc.strerror}") from None
    finally:
        os.close(fd)


def _writable(path: Path) -> bool:
    """Whether papertrade may write the file (and the journal files SQLite keeps beside it)."""
    try:
        read_only_mount = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        read_only_mount = False
    return not read_only_mount and os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _uri(path: Path, options: str) -> str:
    return f"{path.resolve().as_uri()}?{options}"


def _schema(uri: str) -> tuple[str | None, set[str]]:
    """The file's Alembic revision (None without one) and its table names, read-only."""
    connection = sqlite3.connect(uri, uri=True)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        revision = None
        if "alembic_version" in tables:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        return revision, tables
    finally:
        connection.close()
