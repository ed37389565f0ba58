"""Strategy plug-ins: the base class, the registry and the built-in strategies."""

from papertrade.strategies.base import Strategy

__all__ = ["Strategy"]
