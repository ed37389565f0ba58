"""The few exceptions papertrade raises, grouped by what the operator has to do about them.

Only the CLI knows which exit code each group maps to.
"""


class PapertradeError(Exception):
    """Base class: a failure papertrade understands and can explain in one line."""


class InputError(PapertradeError):
    """The command, its arguments or the configuration are wrong: fix them and run again."""


class NotFound(InputError):
    """A portfolio, symbol or other named thing does not exist."""


class TemporaryError(PapertradeError):
    """Something outside papertrade is briefly unavailable (network, exchange, a locked database).

    A later run may well succeed; nothing was written.
    """


class DataError(PapertradeError):
    """The exchange served data that fails validation; nothing from it was stored."""


class StrategyError(PapertradeError):
    """The strategy raised or answered something that is not a signal."""


class SetupError(PapertradeError):
    """The environment is not usable: a database that cannot be opened, a schema mismatch."""


class LedgerError(PapertradeError):
    """A fill was refused because it would break the books (negative cash or position)."""
