"""Every file papertrade writes for the user (`--plot`, `data export -o`, the file `cron --log`
names) refuses the ledger, its side files and any SQLite database, through any link, with exit 2
and nothing written; a device or a named pipe is written by opening it, never replaced."""

import os
import shutil
import sqlite3
import stat
import threading

import pytest

from papertrade.adapters.user_files import check_output, write_output
from papertrade.errors import InputError
from tests.support.cli import run_captured, run_inprocess
from tests.support.databases import file_state
from tests.support.paths import DATA

CANDLES = DATA / "binance_BTC-USDT_1h.csv"


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """A ledger with a portfolio that has traded 3 days of real candles (built once, copied)."""
    path = tmp_path_factory.mktemp("replayed") / "ledger.db"
    assert run_captured("--db", str(path), "create-portfolio", "bot", "1000", "--strategy", "sma-cross").code == 0
    replay = ["replay", "1", "BTC/USDT", "--data", str(CANDLES), "--to", "2020-12-04T00:00"]
    assert run_captured("--db", str(path), *replay).code == 0
    return path


@pytest.fixture
def ledger(replayed, tmp_path):
    path = tmp_path / "ledger.db"
    shutil.copy2(replayed, path)
    return path


def _report(target):
    return ["report", "1", "--plot", str(target)]


def _backtest(target):
    return ["backtest", "--strategy", "sma-cross", "--data", str(CANDLES), "--to", "2020-12-04", "--plot", str(target)]


def _export(target):
    return ["data", "export", "binance", "BTC/USDT", "1h", "-o", str(target)]


def _cron(target):
    return ["cron", "1", "BTC/USDT", "--log", str(target)]


OUTPUTS = {
    "report --plot .html": (".html", _report),
    "report --plot .png": (".png", _report),
    "backtest --plot": (".png", _backtest),
    "data export -o": (".csv", _export),
    "cron --log": (".log", _cron),
}


def _other_database(directory, suffix):
    path = directory / f"contacts{suffix}"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE contacts (name TEXT)")
    connection.close()
    return path


def _symlink(directory, name, to):
    link = directory / name
    link.symlink_to(to)
    return link


def _hard_link(directory, name, to):
    link = directory / name
    os.link(to, link)
    return link


TARGETS = {
    # name: (make the target from (directory, ledger, suffix), what the refusal says)
    "symlink to the ledger": (lambda d, ledger, s: _symlink(d, f"out{s}", ledger), "it is the ledger"),
    "symlink chain to the ledger": (
        lambda d, ledger, s: _symlink(d, f"out{s}", _symlink(d, "hop", ledger)),
        "it is the ledger",
    ),
    "hard link to the ledger": (lambda d, ledger, s: _hard_link(d, f"out{s}", ledger), "it is the ledger"),
    "symlink to the ledger's -wal": (
        lambda d, ledger, s: _symlink(d, f"out{s}", f"{ledger.name}-wal"),  # absent now, not when it runs
        "the ledger's wal file",
    ),
    "symlink to the ledger's -shm": (
        lambda d, ledger, s: _symlink(d, f"out{s}", f"{ledger.name}-shm"),
        "the ledger's shm file",
    ),
    "another SQLite database": (lambda d, ledger, s: _other_database(d, s), "it is a SQLite database"),
    "symlink to another database": (
        lambda d, ledger, s: _symlink(d, f"db{s}", _other_database(d, s)),
        "it is a SQLite database",
    ),
}


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("output", OUTPUTS)
def test_no_output_option_writes_over_the_ledger_or_a_database(ledger, tmp_path, capsys, output, target_kind):
    suffix, command = OUTPUTS[output]
    make, says = TARGETS[target_kind]
    target = make(tmp_path, ledger, suffix)
    before = {path.name: file_state(path) for path in tmp_path.iterdir() if not path.is_symlink()}
    links = {path.name: os.readlink(path) for path in tmp_path.iterdir() if path.is_symlink()}
    result = run_inprocess(capsys, "--db", str(ledger), *command(target))
    assert result.code == 2, result.stderr
    assert len(result.error_lines) == 1 and says in result.stderr, result.stderr
    assert {path.name: file_state(path) for path in tmp_path.iterdir() if not path.is_symlink()} == before
    assert {path.name: os.readlink(path) for path in tmp_path.iterdir() if path.is_symlink()} == links


@pytest.mark.parametrize("output", ["report --plot .html", "data export -o", "cron --log"])
def test_the_ledger_s_own_path_is_refused(ledger, tmp_path, capsys, output):
    suffix, command = OUTPUTS[output]
    own = ledger.rename(tmp_path / f"ledger{suffix}")  # --plot takes only .html or .png names
    before = file_state(own)
    result = run_inprocess(capsys, "--db", str(own), *command(own))
    assert result.code == 2 and "it is the ledger" in result.stderr, result.stderr
    assert file_state(own) == before


def test_an_empty_ledger_file_is_recognised_by_its_inode(tmp_path):
    """A ledger being created holds no SQLite header yet: only its identity gives it away."""
    ledger = tmp_path / "new.db"
    ledger.touch()
    link = _hard_link(tmp_path, "out.csv", ledger)
    with pytest.raises(InputError, match="it is the ledger"):
        check_output(link, "-o", ledger)


def _export_bytes(ledger, tmp_path, capsys) -> bytes:
    plain = tmp_path / "plain.csv"
    assert run_inprocess(capsys, "--db", str(ledger), *_export(plain)).code == 0
    return plain.read_bytes()


def test_export_through_a_symlink_replaces_the_file_it_points_to_and_keeps_the_link(ledger, tmp_path, capsys):
    expected = _export_bytes(ledger, tmp_path, capsys)
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    real.chmod(0o600)
    link = _symlink(tmp_path, "link.csv", real)
    assert run_inprocess(capsys, "--db", str(ledger), *_export(link)).code == 0
    assert link.is_symlink() and real.read_bytes() == expected
    assert stat.S_IMODE(real.stat().st_mode) == 0o600  # a private file stays private
    assert not list(tmp_path.glob(".papertrade-*"))  # no temporary file left behind


def test_export_to_a_character_device_writes_through_it(ledger, tmp_path, capsys):
    device = tmp_path / "null"
    try:  # the same device as /dev/null, made here so the test never touches the system's
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    result = run_inprocess(capsys, "--db", str(ledger), *_export(device))
    assert result.code == 0, result.stderr
    assert stat.S_ISCHR(device.lstat().st_mode) and device.lstat().st_rdev == os.makedev(1, 3)


def test_export_to_a_named_pipe_writes_to_its_reader(ledger, tmp_path, capsys):
    expected = _export_bytes(ledger, tmp_path, capsys)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    result = run_inprocess(capsys, "--db", str(ledger), *_export(pipe))
    reader.join(timeout=30)
    assert result.code == 0, result.stderr
    assert received == [expected]
    assert stat.S_ISFIFO(pipe.lstat().st_mode)


def test_a_named_pipe_nobody_reads_is_refused_after_the_wait(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(InputError, match=r"no program read the pipe within 0\.1 s"):
        write_output(check_output(pipe, "-o", None), b"data\n", fifo_wait=0.1)
    assert stat.S_ISFIFO(pipe.lstat().st_mode)


def test_export_to_dash_writes_the_candles_to_standard_output_only(ledger, tmp_path, capsys):
    expected = _export_bytes(ledger, tmp_path, capsys)
    result = run_inprocess(capsys, "--db", str(ledger), *_export("-"))
    assert result.code == 0, result.stderr
    assert result.stdout.encode() == expected
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("kind", ["a directory", "a socket"])
def test_export_refuses_what_it_cannot_write_by_opening(ledger, tmp_path, capsys, kind):
    if kind == "a directory":
        target = tmp_path / "folder"
        target.mkdir()
    else:
        import socket

        target = tmp_path / "sock"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(target))
    result = run_inprocess(capsys, "--db", str(ledger), *_export(target))
    assert result.code == 2 and "it is a" in result.stderr, result.stderr
