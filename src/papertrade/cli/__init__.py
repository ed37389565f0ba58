"""The `papertrade` command line. Modules import only typer at the top so `--help` is instant."""
