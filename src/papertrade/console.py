"""The `papertrade` console script."""

import gc


def main() -> None:
    """Like `papertrade.cli.app.main`, with garbage collection off while the command line itself
    is imported too (see there why)."""
    gc.disable()
    from papertrade.cli.app import main as run

    run()
