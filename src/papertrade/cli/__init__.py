"""The `papertrade` command line. Modules import only typer at the top so `--help` is instant."""

import gc


def main() -> None:
    """The console script: like `papertrade.cli.app.main`, with garbage collection off while the
    command line itself is imported too (see there why)."""
    gc.disable()
    from papertrade.cli.app import main as run

    run()
