"""The files the user names: read bounded (a file of the wrong kind is refused before any read),
and written without ever overwriting the ledger, another database or a device."""

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from papertrade.errors import InputError, SetupError


def read_regular_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of `path`, at most `limit` of them; `InputError` (naming `what`, e.g. "a candle
    file") for a directory, a device such as /dev/zero, a pipe, or anything larger."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise InputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):  # a pipe is opened without waiting: O_NONBLOCK
            raise InputError(f"{path} is not {what}: it is {describe_kind(status.st_mode)}")
        if status.st_size > limit:
            raise InputError(f"{path} is over the {limit:,}-byte limit of {what}")
        data = _read_up_to(fd, limit + 1, status.st_size)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew, or says it is empty (/proc): the limit holds all the same
        raise InputError(f"{path} is over the {limit:,}-byte limit of {what}")
    return data


def _read_up_to(fd: int, most: int, expected: int) -> bytes:
    chunks, size = [], 0
    while size < most:
        chunk = os.read(fd, min(most - size, max(expected + 1 - size, 2**20)))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def describe_kind(mode: int) -> str:
    """What a file of `mode` is, in words: "a directory", "a device", "a pipe", "a socket"."""
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
             (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket")]  # fmt: skip
    return next((name for test, name in kinds if test(mode)), "not a regular file")


# Writing files for the user: --plot, data export -o, the file cron --log names.

_SQLITE_HEADER = b"SQLite format 3\x00"
_WAL_MAGIC = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")
_SIDE_FILES = ("-wal", "-shm", "-journal")
#: How long a write to a named pipe waits for a reader to open it before giving up (exit 2).
FIFO_WAIT = 10.0


@dataclass(frozen=True, slots=True)
class Output:
    """Where a checked output goes: `path` as the user gave it, `target` the file itself (every
    symlink followed), `kind` "stdout", "new", "file" (a regular file replaced), "device" or "pipe"."""

    path: Path
    target: Path
    kind: str


def check_output(path: Path, option: str, ledger: Path | None) -> Output:
    """Where `option` (e.g. "-o") may write `path`, checked before any work is done.

    `InputError` (nothing written) for the ledger itself (by inode, through any symlink or hard
    link), its -wal/-shm/-journal files, any other SQLite database or its side files, a
    directory, a block device or a socket, and a file in a missing or unwritable directory. `-`
    is standard output; a character device or a named pipe is written by opening it."""
    if str(path) == "-":
        return Output(path, path, "stdout")
    target, status = refuse_database(path, option, ledger)
    if status is None or stat.S_ISREG(status.st_mode):
        _check_replaceable(path, target, status, option)
        return Output(path, target, "file" if status else "new")
    if stat.S_ISCHR(status.st_mode):
        return Output(path, target, "device")
    if stat.S_ISFIFO(status.st_mode):
        return Output(path, target, "pipe")
    raise InputError(f"cannot write {option} {path}: it is {describe_kind(status.st_mode)}")


def refuse_database(path: Path, option: str, ledger: Path | None) -> tuple[Path, os.stat_result | None]:
    """`InputError` when `path` is the ledger, a file of its, or any SQLite database; else the
    file it names (symlinks followed) and its status (None when absent)."""
    target = Path(os.path.realpath(path))
    status = _status(path, target, option)
    _refuse_ledger(path, target, status, option, ledger)
    _refuse_side_file(path, target, option)
    if status is not None and stat.S_ISREG(status.st_mode) and _is_sqlite(target):
        raise InputError(f"cannot write {option} {path}: it is a SQLite database; name another file")
    return target, status


def _status(path: Path, target: Path, option: str) -> os.stat_result | None:
    try:
        return os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        return None  # absent; a parent that is no directory is named by `_check_replaceable`
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot write {option} {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _refuse_ledger(path: Path, target: Path, status, option: str, ledger: Path | None) -> None:
    if ledger is None:
        return
    base = Path(os.path.realpath(ledger))
    for suffix, what in (("", "the ledger"), *((s, f"the ledger's {s[1:]} file") for s in _SIDE_FILES)):
        twin = Path(f"{base}{suffix}")
        if target == twin or (status is not None and _same_file(status, twin)):
            raise InputError(f"cannot write {option} {path}: it is {what} ({twin}); name another file")


def _same_file(status: os.stat_result, other: Path) -> bool:
    try:
        other_status = os.stat(other)
    except (OSError, ValueError):
        return False
    return (status.st_dev, status.st_ino) == (other_status.st_dev, other_status.st_ino)


def _refuse_side_file(path: Path, target: Path, option: str) -> None:
    """A -wal, -shm or -journal file beside a SQLite database is part of that database."""
    for suffix in _SIDE_FILES:
        if target.name.endswith(suffix) and _is_sqlite(Path(str(target)[: -len(suffix)])):
            raise InputError(f"cannot write {option} {path}: it belongs to the SQLite database beside it")


def _check_replaceable(path: Path, target: Path, status, option: str) -> None:
    if not target.parent.is_dir():
        raise InputError(f"cannot write {option} {path}: {target.parent} is not a directory")
    if not os.access(target.parent, os.W_OK | os.X_OK) or (status and not os.access(target, os.W_OK)):
        raise InputError(f"cannot write {option} {path}: permission denied")


def _is_sqlite(path: Path) -> bool:
    """Whether `path` is a regular file that starts like a SQLite database or its write-ahead log."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, ValueError):
        return False
    try:
        head = os.read(fd, len(_SQLITE_HEADER)) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    except OSError:
        head = b""
    finally:
        os.close(fd)
    return head == _SQLITE_HEADER or head[:4] in _WAL_MAGIC


def write_output(output: Output, data: bytes, *, fifo_wait: float = FIFO_WAIT) -> None:
    """Write `data` where `check_output` said: standard output; a device or pipe by opening it
    (waiting at most `fifo_wait` seconds for a pipe's reader); a file by writing a new file
    beside it and renaming it into place, so a failure leaves the old file (or none) whole."""
    if output.kind == "stdout":
        _write_stdout(data)
    elif output.kind == "device":
        _write_opened(output, _open(output, os.O_WRONLY | os.O_NOCTTY), data)
    elif output.kind == "pipe":
        _write_opened(output, _open_pipe(output, fifo_wait), data)
    else:
        _replace(output, data)


def _write_stdout(data: bytes) -> None:
    import sys

    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _open(output: Output, flags: int) -> int:
    try:
        return os.open(output.target, flags | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"cannot write {output.path}: {exc.strerror}") from None


def _open_pipe(output: Output, wait: float) -> int:
    """Open a named pipe for writing once a reader has it open (never blocking past `wait`)."""
    import errno
    import fcntl
    import time

    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(output.target, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: nobody is reading the pipe yet
                raise InputError(f"cannot write {output.path}: {exc.strerror}") from None
        if time.monotonic() >= deadline:
            raise InputError(f"cannot write {output.path}: no program read the pipe within {wait:g} s")
        time.sleep(0.05)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return fd


def _write_opened(output: Output, fd: int, data: bytes) -> None:
    try:
        _write_all(fd, data)
    except OSError as exc:
        raise SetupError(f"cannot write {output.path}: {exc.strerror}") from None
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _replace(output: Output, data: bytes) -> None:
    temporary = output.target.with_name(f".papertrade-{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise InputError(f"cannot write {output.path}: {exc.strerror}") from None
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        _keep_mode(output.target, temporary)
        os.replace(temporary, output.target)
    except OSError as exc:
        raise SetupError(f"cannot write {output.path}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)


def _keep_mode(target: Path, temporary: Path) -> None:
    """A replaced file keeps its permissions (a private export stays private)."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
