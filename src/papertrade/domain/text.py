"""Text that came from outside papertrade (an exchange's error page, a request's path), made
safe to print on a terminal, store in the ledger or send in a notification."""

import re
import unicodedata

#: How much of an outside text papertrade keeps by default: enough for any error message.
LIMIT = 300
#: Terminal escape sequences (CSI such as "ESC [ 2 J", OSC such as a window title), dropped whole.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x9b[0-?]*[ -/]*[@-~]")


def printable(text: str, limit: int = LIMIT) -> str:
    """`text` on one line without control or formatting characters (escape sequences, bidi
    overrides, zero-width characters), runs of white space as one space, and cut to at most
    `limit` characters (ending with "…" when cut)."""
    text = _ESCAPES.sub("", text)
    kept = "".join(" " if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") else char for char in text)
    flat = " ".join(kept.split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)] + "…"
