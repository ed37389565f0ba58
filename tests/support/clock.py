class Clock:
    """A settable clock in milliseconds, shared by the fake exchange and the tick service."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms
