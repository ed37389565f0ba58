"""`papertrade serve`: the read-only web dashboard and JSON API (needs the `web` extra)."""
