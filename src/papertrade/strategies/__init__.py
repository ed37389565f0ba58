"""Strategy plug-ins: the base class, the registry and the built-in strategies.

What a strategy answers with is importable from here too: `Decision`, `Signal`, and for orders
`Size`, `Exits` and `price`; `SignalSeries` is what `Strategy.decide_series` returns.
"""

from papertrade.domain.orders import Exits, Size, price
from papertrade.domain.signals import Decision, Signal
from papertrade.strategies.base import SignalSeries, Strategy

__all__ = ["Decision", "Exits", "Signal", "SignalSeries", "Size", "Strategy", "price"]
