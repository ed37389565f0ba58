"""`db upgrade`, `db current`: schema operations for operators."""

import typer

from papertrade.cli.context import state

app = typer.Typer(help="Inspect and upgrade the ledger's schema.", no_args_is_help=True, rich_markup_mode=None)


def _engine(ctx: typer.Context, *, create: bool):
    """The configured database's URL and an engine for it, without the schema check that
    `open_ledger` does (these commands are how an operator deals with the schema)."""
    from papertrade.adapters.database import create_sqlite_file, make_engine, resolve_url, sqlite_path
    from papertrade.errors import SetupError

    settings = state(ctx).settings()
    url = resolve_url(settings.database)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        if not create:
            raise SetupError(f"no database at {path} yet: create a portfolio or run `papertrade db upgrade`")
        create_sqlite_file(path)
    return url, make_engine(url, settings.db_busy_timeout)


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Upgrade the ledger's schema to this papertrade's revision (creates a new SQLite file)."""
    from papertrade.adapters.migrator import upgrade as run_upgrade

    url, engine = _engine(ctx, create=True)
    try:
        before, after = run_upgrade(engine, url)
    finally:
        engine.dispose()
    if before == after:
        typer.echo(f"Schema already at {after}")
    else:
        typer.echo(f"Upgraded schema from {before or 'empty'} to {after}")


@app.command()
def current(ctx: typer.Context) -> None:
    """Print the ledger's schema revision and whether it is the one this papertrade needs."""
    from papertrade.adapters.database import HEAD, describe, read_revision, translated_errors

    url, engine = _engine(ctx, create=False)
    try:
        with translated_errors(url), engine.connect() as connection:
            revision = read_revision(connection)
    finally:
        engine.dispose()
    verdict = "(head)" if revision == HEAD else f"(this papertrade needs {HEAD})"
    typer.echo(f"{describe(url)}: {revision or 'no schema'} {verdict}")
