"""Reading files the user names, bounded: a file of the wrong kind is refused before any read."""

import os
import stat
from pathlib import Path

from papertrade.errors import InputError


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
            raise InputError(f"{path} is not {what}: it is {_kind(status.st_mode)}")
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


def _kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
             (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket")]  # fmt: skip
    return next((name for test, name in kinds if test(mode)), "not a regular file")
