"""A --db file papertrade did not make is never changed; a ledger it may not write can be read."""

import shutil
import sqlite3
import subprocess

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
