"""Running papertrade: in-process through the real entry point, or as the installed command."""

import io
import json
import os
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

import pytest

from papertrade.cli.app import main
from tests.support.paths import VENV_BIN


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_inprocess(capsys: pytest.CaptureFixture, *args: str) -> Result:
    """Call `papertrade.cli.app.main` as the console script does, capturing its output."""
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def run_json(capsys: pytest.CaptureFixture, db, *args: str):
    """`papertrade --db DB ARGS --json` in process, which must succeed: its document."""
    result = run_inprocess(capsys, "--db", str(db), *args, "--json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def run_captured(*args: str) -> Result:
    """`run_inprocess` for a fixture wider than one test, which has no `capsys`."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return Result(code, out.getvalue(), err.getvalue())


def run_command(*args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd=None) -> Result:
    """Run the installed `papertrade` command as a separate process."""
    full_env = {**os.environ, **(env or {})}
    completed = subprocess.run(
        [str(VENV_BIN / "papertrade"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)
