"""Adapters to the outside world: the database (schema, migrations, repositories) and ccxt."""
