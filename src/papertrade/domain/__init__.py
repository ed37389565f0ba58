"""Plain-Python trading domain: exact money, bars, the ledger, fills and signals. No I/O."""
