"""Use cases: each takes plain values and a ledger, and returns plain results for the CLI."""
