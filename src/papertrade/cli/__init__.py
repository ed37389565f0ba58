"""The `papertrade` command line: one module per command, `app` ties them together.

Modules import only typer at the top so `--help` is instant."""
