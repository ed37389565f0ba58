"""A --db file papertrade did not make is never changed; a ledger it may not write can be read."""

import os
import shutil
import sqlite3
import subprocess
import threading

import pytest

from tests.support.cli import run_inprocess
from tests.support.databases import file_state
from tests.support.paths import DATA, VENV_BIN


@pytest.fixture
def foreign(tmp_path):
    """Another program's database, in rollback-journal mode as most programs leave theirs."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE contacts (name TEXT)")
        connection.execute("INSERT INTO contacts VALUES ('Ada')")
    connection.close()
    return path


COMMANDS = [
    ["status", "1"],
    ["portfolios"],
    ["trades", "1"],
    ["report", "1"],
    ["db", "current"],
    ["db", "upgrade"],
    ["create-portfolio", "bot", "100"],
    ["trade", "1", "BTC/USDT", "DRY"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_another_program_s_database_is_refused_and_left_byte_identical(foreign, capsys, args):
    before = file_state(foreign)
    result = run_inprocess(capsys, "--db", str(foreign), *args)
    assert result.code == 2, result.stderr
    assert result.error_lines == [
        f"papertrade: error: {foreign} is another program's SQLite database, not a papertrade ledger "
        "(it was left untouched): give --db a new file or an existing ledger"
    ]
    assert file_state(foreign) == before


def _alembic_app(path, revision: str):
    """A database of another application that keeps its schema with Alembic, as its own
    migrations leave it (rollback journal, its own revision in `alembic_version`)."""
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        connection.execute("INSERT INTO users (email) VALUES ('ada@example.com')")
    connection.close()
    return path


#: Every command that reads the ledger, and the ones that would create or write one.
READERS = [
    ["status", "1"], ["portfolios"], ["portfolios", "--json"], ["trades", "1"], ["orders", "1"],
    ["ticks", "1"], ["report", "1"], ["audit", "verify", "1"], ["audit", "verify", "--all"],
    ["data", "list"], ["notify", "1"], ["cron", "1", "BTC/USDT"], ["db", "current"], ["serve", "--port", "0"],
]  # fmt: skip
WRITERS = [
    ["db", "upgrade"], ["create-portfolio", "bot", "100"], ["trade", "1", "BTC/USDT", "DRY"],
    ["portfolio", "set", "1", "--fee-rate", "0.002"], ["portfolio", "archive", "1"],
]  # fmt: skip


ALEMBIC_CASES = [
    # another application's own revision id, with every command; then revisions named like
    # papertrade's (a later one, one it knows) over tables that are no ledger's, with a few
    *(pytest.param("ae1027a6acf", args, id=f"ae1027a6acf-{' '.join(args)}") for args in READERS + WRITERS),
    *(pytest.param(revision, args, id=f"{revision}-{' '.join(args)}")
      for revision in ("0010_add_users", "0001_initial")
      for args in (["status", "1"], ["db", "upgrade"], ["serve", "--port", "0"])),
]  # fmt: skip


@pytest.mark.parametrize(("revision", "args"), ALEMBIC_CASES)
def test_an_alembic_using_program_s_database_is_refused_and_left_byte_identical(tmp_path, capsys, args, revision):
    """A revision from another application's history (even one named like papertrade's) over
    tables that are not a ledger's: another program's database, exit 2; it stays byte-identical,
    and no -wal, -shm or -journal file appears beside it."""
    app = _alembic_app(tmp_path / "app.db", revision)
    before = file_state(app)
    result = run_inprocess(capsys, "--db", str(app), *args)
    assert result.code == 2, result.stderr
    assert len(result.error_lines) == 1 and "is another program's" in result.stderr, result.stderr
    assert file_state(app) == before


@pytest.mark.parametrize("args", [["status", "1"], ["db", "current"], ["serve", "--port", "0"]], ids=" ".join)
def test_a_wal_mode_database_of_another_program_gets_no_files_beside_it(tmp_path, capsys, args):
    """Read-only connections would leave -wal and -shm files behind: an idle WAL database is
    read as immutable instead."""
    app = _alembic_app(tmp_path / "app.db", "ae1027a6acf")
    with sqlite3.connect(app) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    connection.close()
    before = file_state(app)
    assert before[1] == ("app.db",)
    result = run_inprocess(capsys, "--db", str(app), *args)
    assert result.code == 2 and "is another program's" in result.stderr, result.stderr
    assert file_state(app) == before


def test_another_program_s_postgresql_schema_is_refused_and_left_alone(postgres_url, capsys):
    import sqlalchemy as sa

    from papertrade.adapters.database import resolve_url

    engine = sa.create_engine(resolve_url(postgres_url))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('ae1027a6acf')")
        connection.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    for args in (["status", "1"], ["db", "upgrade"], ["create-portfolio", "bot", "100"], ["serve", "--port", "0"]):
        result = run_inprocess(capsys, "--db", postgres_url, *args)
        assert result.code == 2 and "is another program's database" in result.stderr, (args, result.stderr)
    with engine.connect() as connection:
        tables = {row[0] for row in connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}  # fmt: skip
        assert tables == {"alembic_version", "users"}
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "ae1027a6acf"
    engine.dispose()


@pytest.mark.parametrize("args", READERS + WRITERS[2:], ids=" ".join)
def test_an_empty_file_is_left_empty_by_every_command_that_does_not_create(tmp_path, capsys, args):
    notes = tmp_path / "notes.txt"
    notes.touch()
    result = run_inprocess(capsys, "--db", str(notes), *args)
    assert result.code == 2, result.stderr
    assert len(result.error_lines) == 1 and "is empty, not a papertrade ledger" in result.stderr, result.stderr
    assert file_state(notes) == (b"", ("notes.txt",))


@pytest.mark.parametrize("args", WRITERS[:2], ids=" ".join)
def test_an_empty_file_the_user_names_becomes_a_ledger_only_by_a_create_command(tmp_path, capsys, args):
    named = tmp_path / "named.db"
    named.touch()
    assert run_inprocess(capsys, "--db", str(named), *args).code == 0
    assert run_inprocess(capsys, "--db", str(named), "db", "current").stdout.endswith("(head)\n")


@pytest.mark.parametrize("args", READERS + WRITERS, ids=" ".join)
def test_a_pipe_as_the_ledger_is_refused_without_being_opened(tmp_path, capsys, args):
    """A pipe would block the first read forever. A thread waits to open its writing end: the
    open returns only once something opens the reading end, so it tells whether the command did
    (and, if it did, lets it go instead of hanging the test)."""
    pipe = tmp_path / "ledger.db"
    os.mkfifo(pipe)
    opened = threading.Event()

    def writer() -> None:
        with open(pipe, "wb"):
            opened.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    result = run_inprocess(capsys, "--db", str(pipe), *args)
    command_opened_it = opened.is_set()
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer go, whenever it opens
    thread.join(timeout=10)
    os.close(reader)
    assert not command_opened_it
    assert result.code == 2, result.stderr
    assert result.error_lines in (
        [f"papertrade: error: {pipe} is a pipe, not a database file (it was left untouched)"],
        [f"papertrade: error: no ledger at {pipe}: create a portfolio first, or name another with --db"],  # serve
    )


def test_a_file_that_is_no_database_is_refused_untouched(tmp_path, capsys):
    path = tmp_path / "notes.db"
    path.write_text("shopping list\n")
    before = file_state(path)
    result = run_inprocess(capsys, "--db", str(path), "status", "1")
    assert result.code == 2 and "is not a SQLite database" in result.stderr
    assert file_state(path) == before


def _read_only_mount_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        [
            "unshare",
            "--mount",
            "--map-root-user",
            "sh",
            "-c",
            "mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp",
        ],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _read_only_mount_works(), reason="needs unshare(1) with user and mount namespaces")
def test_reading_commands_work_on_a_ledger_on_a_read_only_mount(tmp_path, capsys):
    directory = tmp_path / "ro"
    db = directory / "ledger.db"
    run_inprocess(capsys, "--db", str(db), "create-portfolio", "bot", "1000", "--strategy", "sma-cross")
    data = DATA / "binance_BTC-USDT_1h.csv"
    replayed = run_inprocess(
        capsys, "--db", str(db), "replay", "1", "BTC/USDT", "--data", str(data), "--to", "2020-12-03T00:00"
    )
    assert replayed.code == 0, replayed.stderr
    before = file_state(db)
    papertrade = VENV_BIN / "papertrade"
    script = f"mount --bind {directory} {directory} && mount -o remount,bind,ro {directory} && " + " && ".join(
        f"{papertrade} --db {db} {command} >/dev/null"
        for command in ("status 1", "portfolios --json", "trades 1", "db current", "report 1 --json")
    )
    completed = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert file_state(db) == before


#: Run inside the namespace: `serve` on the read-only mount, one API request, then stop it.
SERVE_ONCE = """
import re, subprocess, sys, urllib.request
server = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    url = re.search(r"(http://[^ ]+/)", server.stdout.readline())
    if url is not None:
        print(urllib.request.urlopen(url.group(1) + "api/portfolios/1", timeout=60).read().decode())
finally:
    server.terminate()
    server.wait(timeout=30)
sys.exit(0 if url else "serve did not start: " + server.stderr.read())
"""


@pytest.mark.skipif(not _read_only_mount_works(), reason="needs unshare(1) with user and mount namespaces")
def test_serve_works_on_a_ledger_on_a_read_only_mount(tmp_path, capsys):
    import json
    import os
    import signal
    import sys

    directory = tmp_path / "ro"
    db = directory / "ledger.db"
    assert run_inprocess(capsys, "--db", str(db), "create-portfolio", "mounted bot", "1000").code == 0
    before = file_state(db)
    serve = f"{VENV_BIN / 'papertrade'} --db {db} serve --port 0"
    script = (
        f"mount --bind {directory} {directory} && mount -o remount,bind,ro {directory} && "
        f"{sys.executable} -c '{SERVE_ONCE}' {serve}"
    )
    namespace = subprocess.Popen(["unshare", "--mount", "--map-root-user", "sh", "-c", script], text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = namespace.communicate(timeout=120)
    finally:
        if namespace.poll() is None:
            os.killpg(namespace.pid, signal.SIGKILL)  # the server too, whatever happened
            namespace.wait()
    assert namespace.returncode == 0, stderr
    assert json.loads(stdout)["name"] == "mounted bot"
    assert file_state(db) == before
