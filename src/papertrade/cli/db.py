"""`db upgrade`, `db current`: schema operations for operators."""

import typer

from papertrade.cli.context import state

app = typer.Typer(help="Inspect and upgrade the ledger's schema.", no_args_is_help=True, rich_markup_mode=None)


def _engine(ctx: typer.Context, *, create: bool):
    from papertrade.bootstrap import schema_engine

    return schema_engine(state(ctx).settings(), create=create)


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
