"""papertrade: paper-trade a strategy against live market data into an exact, exactly-once ledger."""

__version__ = "0.1.0"
