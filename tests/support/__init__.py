"""Helpers shared by the test layers: databases, the CLI, and a Binance-like exchange server."""
