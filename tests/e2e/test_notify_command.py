"""Notifications through the real entry point, on both databases: `create-portfolio --notify`,
`notify`, and what `trade` and `run` deliver, to a local receiver over real HTTP (json://)."""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from tests.support.cli import run_inprocess
from tests.support.databases import ledger_state
from tests.support.live import HOUR, wait_clear_of_boundary
from tests.support.paths import VENV_BIN
from tests.support.receiver import Receiver

ALTERNATE = ["--strategy", "tests.support.strategies:Alternate"]  # a trade on every candle
SECRET = "s3cretpassw0rd"


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def env(cli_env, monkeypatch):
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    wait_clear_of_boundary(HOUR)
    return cli_env


def secret_url(receiver) -> str:
    return receiver.url(auth=f"me:{SECRET}@")


def test_a_trade_with_the_receiver_down_keeps_its_output_and_exit_code(env, receiver, capsys):
    outputs = [run_inprocess(capsys, "create-portfolio", "quiet", "1000", *ALTERNATE)]
    outputs.append(
        run_inprocess(capsys, "create-portfolio", "loud", "1000", *ALTERNATE, "--notify", secret_url(receiver))
    )
    assert "notifies json://me:****@127.0.0.1" in outputs[-1].stdout
    receiver.down()
    plain = run_inprocess(capsys, "trade", "1", "BTC/USDT", "LIVE")
    notified = run_inprocess(capsys, "trade", "2", "BTC/USDT", "LIVE")
    assert (notified.code, notified.stdout, notified.stderr) == (plain.code, plain.stdout, plain.stderr) == (
        0, plain.stdout, ""
    )  # fmt: skip
    assert "[executed]" in notified.stdout
    outputs.append(listed := run_inprocess(capsys, "notify", "2", "--list", "--json"))
    (target,) = json.loads(listed.stdout)
    assert (target["pending"], target["delivered"], target["events"]) == (1, 0, ["fill", "error", "daily"])
    assert target["url"].startswith("json://me:****@") and target["last_error"]
    outputs.append(failed := run_inprocess(capsys, "notify", "flush"))
    assert failed.code == 75 and "1 failed, 1 pending" in failed.stdout
    assert failed.error_lines == [
        "papertrade: error: 1 notification could not be delivered; they stay pending "
        "and go out with the next tick or flush"
    ]
    outputs.append(status := run_inprocess(capsys, "status", "2"))  # a failing channel is not silent
    lines = [line.strip() for line in status.stdout.splitlines()]
    assert "notify      1 URL, 1 undelivered (notify flush sends them)" in lines
    assert any(re.fullmatch(r"1: json://me:\*\*\*\*@127\.0\.0\.1:\d+/\*\*\*\*: last error: .+", x) for x in lines)
    outputs.append(as_json := run_inprocess(capsys, "status", "2", "--json"))
    notified = json.loads(as_json.stdout)["notifications"]
    assert notified["undelivered"] == 1 and notified["urls"][0]["last_error"]
    outputs.append(untested := run_inprocess(capsys, "notify", "2", "--test"))
    assert untested.code == 75 and untested.stdout.startswith("FAILED json://me:****@127.0.0.1")
    assert untested.error_lines == ["papertrade: error: 1 of 1 notification URL failed the test"]
    receiver.up()
    outputs.append(flushed := run_inprocess(capsys, "notify", "flush"))
    assert (flushed.code, flushed.stdout) == (0, "delivered 1 notification, 0 failed, 0 pending\n")
    assert "notify      1 URL, all delivered" in run_inprocess(capsys, "status", "2").stdout
    assert receiver.event_ids() == [1]
    outputs.append(tested := run_inprocess(capsys, "notify", "2", "--test"))
    assert tested.code == 0 and tested.stdout.startswith("sent to json://me:****@127.0.0.1")
    outputs.append(run_inprocess(capsys, "notify", "2"))
    outputs.append(removed := run_inprocess(capsys, "notify", "2", "--remove", secret_url(receiver)))
    assert removed.stdout.startswith("Portfolio 2 no longer notifies json://me:****@")
    assert not any(SECRET in out.stdout + out.stderr for out in outputs)


def test_run_sends_the_whole_runs_fills_in_one_message(env, receiver, capsys, tmp_path):
    for name in ("one", "two"):
        run_inprocess(capsys, "create-portfolio", name, "1000", *ALTERNATE, "--notify", receiver.url())
    bots = tmp_path / "bots.toml"
    bots.write_text('[[bot]]\nportfolio = 1\nsymbol = "BTC/USDT"\n\n[[bot]]\nportfolio = 2\nsymbol = "BTC/USDT"\n')
    result = run_inprocess(capsys, "run", str(bots))
    assert result.code == 0 and result.stdout.endswith("ran 2 bots: 2 executed\n")
    (message,) = receiver.messages
    assert message["title"] == "papertrade: 2 events" and receiver.event_ids() == [1, 2]


HOSTILE = [
    (["--notify", "not a url"], "one non-empty word"),
    (["--notify", "nonsense"], "not a notification URL"),
    (["--notify", f"foo://{SECRET}"], "unknown notification service 'foo'"),
    (["--notify", f"tgram://{SECRET}"], "malformed tgram:// URL"),
    (["--notify", "json://127.0.0.1/hook", "--events", "fill,trades"], "unknown event 'trades'"),
    (["--notify", "json://127.0.0.1/hook", "--events", ","], "at least one of fill, error, daily"),
    (["--events", "fill"], "--events goes with --notify"),
]


@pytest.mark.parametrize(("options", "message"), HOSTILE)
def test_hostile_notify_options_exit_2_and_write_nothing(cli_database, capsys, options, message):
    if cli_database.startswith("postgresql"):
        run_inprocess(capsys, "--db", cli_database, "create-portfolio", "first", "100")
    before = ledger_state(cli_database)
    created = run_inprocess(capsys, "--db", cli_database, "create-portfolio", "bot", "100", *options)
    added = run_inprocess(capsys, "--db", cli_database, "notify", "1", "--add", *options[1:2], *options[2:])
    for result in (created, added) if options[0] == "--notify" else (created,):
        assert result.code == 2 and result.stdout == ""
        assert result.error_lines == [result.error_lines[0]] and message in result.error_lines[0]
        assert SECRET not in result.stderr
    assert ledger_state(cli_database) == before


def test_a_sigkill_between_commit_and_delivery_is_delivered_by_the_next_tick(env, receiver, capsys):
    run_inprocess(capsys, "create-portfolio", "bot", "1000", *ALTERNATE, "--notify", receiver.url())
    process = subprocess.Popen(
        [str(VENV_BIN / "papertrade"), "trade", "1", "BTC/USDT", "LIVE"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **env, "PAPERTRADE_NOTIFY_TIMEOUT": "0.5"},  # its claim on the event: 2 s
    )  # fmt: skip

    def kill_the_sender(_document) -> bool:
        os.kill(process.pid, signal.SIGKILL)  # committed, printed, sending: dies before any answer
        return False

    receiver.on_request = kill_the_sender
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert re.search(r"BUY .* \[executed\]$", stdout.strip()), "the tick's output is out before delivery"
    assert receiver.messages == []
    receiver.on_request = None
    time.sleep(2.1)  # until the dead process's claim on sending the event has run out
    again = run_inprocess(capsys, "trade", "1", "BTC/USDT", "LIVE")
    assert again.code == 0 and "[duplicate]" in again.stdout
    assert receiver.event_ids() == [1]


#: URLs and the parts of each that are secret: a webhook's path, ntfy topics (in the path, and
#: the public server's topic where a host would be), Telegram's bot token, Discord's and Slack's
#: webhook tokens, passwords.
SECRET_URLS = {
    "json://hooks.example.com/services/T0SECRET1/B0SECRET2/XYSECRET3": ["T0SECRET1", "B0SECRET2", "XYSECRET3"],
    "jsons://me:hunter2pw@hooks.example.com:8443/hook/ABSECRET4": ["hunter2pw", "ABSECRET4"],
    "xml://example.com/in/XMLSECRET5": ["XMLSECRET5"],
    "form://example.com/FORMSECRET6": ["FORMSECRET6"],
    "ntfy://mytopicsecret7": ["mytopicsecret7"],
    "ntfys://ntfy.example.com/othertopic8": ["othertopic8"],
    "tgram://123456789:AAHtelegramTOKEN9/987654321": ["123456789", "AAHtelegramTOKEN9"],
    "discord://112233445566/DISCORDwebhookTOKEN10": ["112233445566", "DISCORDwebhookTOKEN10"],
    "slack://T1JJ3T3L2/A1BRTD4JD/SLACKtoken11xyz/#general": ["T1JJ3T3L2", "A1BRTD4JD", "SLACKtoken11xyz"],
}


def test_every_secret_part_of_a_url_is_redacted_wherever_it_is_printed(cli_database, capsys):
    import sqlalchemy as sa

    db = ("--db", cli_database)
    urls = list(SECRET_URLS)
    shown = [run_inprocess(capsys, *db, "create-portfolio", "bot", "100", "--notify", urls[0], "--notify", urls[1])]
    shown += [run_inprocess(capsys, *db, "notify", "1", *(part for url in urls[2:] for part in ("--add", url)))]
    shown += [run_inprocess(capsys, *db, "notify", "1", "--add", urls[2], "--json")]
    engine = sa.create_engine(cli_database)
    with engine.begin() as connection:  # as an earlier version stored it: Apprise's privacy form, path whole
        connection.execute(sa.text("UPDATE notify_targets SET redacted = url WHERE url LIKE 'xml:%'"))
    engine.dispose()
    shown += [
        run_inprocess(capsys, *db, "notify", "1", "--list"),
        run_inprocess(capsys, *db, "notify", "1", "--list", "--json"),
    ]
    assert all(result.code == 0 for result in shown), [r.stderr for r in shown]
    text = "\n".join(result.stdout + result.stderr for result in shown)
    leaked = [secret for secrets in SECRET_URLS.values() for secret in secrets if secret in text]
    assert leaked == [], text
    listed = json.loads(shown[-1].stdout)
    assert [t["url"] for t in listed][:3] == [
        "json://hooks.example.com/****/****/****/****", "jsons://me:****@hooks.example.com:8443/****/****",
        "xml://example.com/****/****",
    ]  # fmt: skip


def test_urls_are_numbered_per_portfolio_and_managed_by_number_or_redacted_form(cli_database, capsys):
    def notify(*args):
        result = run_inprocess(capsys, "--db", cli_database, "notify", *args)
        assert result.code == 0, result.stderr
        return result.stdout

    for name, hook in (("one", "json://127.0.0.1:9/first"), ("two", "json://127.0.0.1:9/second")):
        assert run_inprocess(capsys, "--db", cli_database, "create-portfolio", name, "100", "--notify", hook).code == 0
    ((listed,),) = [json.loads(notify("2", "--list", "--json"))]
    assert (listed["n"], listed["url"], listed["events"]) == (1, "json://127.0.0.1:9/****", ["fill", "error", "daily"])
    assert notify("2", "--add", "json://127.0.0.1:9/second", "--events", "daily").splitlines() == [
        "Portfolio 2 notifies 1: json://127.0.0.1:9/**** of daily (events were fill, error, daily)"
    ]
    assert "(already so: nothing changed)" in notify("2", "--add", "json://127.0.0.1:9/second", "--events", "daily")
    assert "of fill, daily (events were daily)" in notify("2", "--add", "1", "--events", "fill,daily")
    discord = "https://discord.com/api/webhooks/112233445566/DISCORDwebhookTOKEN"  # as the channel's settings give it
    assert "notifies 2: discord://1...6/D...N/ of fill, error, daily (added)" in notify("2", "--add", discord)
    assert "no longer notifies json://127.0.0.1:9/****" in notify("2", "--remove", "json://127.0.0.1:9/****")
    assert "no longer notifies discord://1...6/D...N/" in notify("2", "--remove", "1")
    assert json.loads(notify("2", "--list", "--json")) == []
    assert [t["n"] for t in json.loads(notify("1", "--list", "--json"))] == [1]  # portfolio 1's URL is untouched


def test_notify_check_prints_its_cron_line_and_checks_the_ledger(tmp_path, capsys):
    db = str(tmp_path / "ledger.db")
    assert run_inprocess(capsys, "--db", db, "create-portfolio", "bot", "1000").code == 0
    log = tmp_path / "logs" / "check.log"
    line = run_inprocess(capsys, "--db", db, "notify", "check", "--cron", "--log", str(log)).stdout.strip()
    assert line.startswith("*/5 * * * * ") and line.endswith(f"--db sqlite:///{db} notify check >> {log} 2>&1")
    checked = run_inprocess(capsys, "--db", db, "notify", "check", "--json")
    assert checked.code == 0
    assert json.loads(checked.stdout) == {
        "stale": [], "events": {"stale": 0, "resumed": 0, "daily": 0}, "delivered": 0, "failed": 0, "pending": 0
    }  # fmt: skip
    wrong = run_inprocess(capsys, "--db", db, "notify", "1", "--cron")
    assert (wrong.code, wrong.error_lines) == (2, ["papertrade: error: --cron goes with notify check"])
