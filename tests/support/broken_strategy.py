"""Strategies that misbehave on purpose, loaded by reference in tests."""

from pydantic import BaseModel

from papertrade.domain.signals import Signal
from papertrade.strategies.base import Strategy


class ExplodingParams(BaseModel):
    @classmethod
    def model_validate(cls, *args, **kwargs):
        raise RuntimeError("parameter validation blew up")


class ExplodingParamsStrategy(Strategy):
    """Its parameter model raises something papertrade does not expect."""

    name = "exploding-params"
    Params = ExplodingParams

    def decide(self, candles, position):
        return Signal.HOLD
