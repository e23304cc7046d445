"""The one token bucket: read units for the segments reader, write units for restore.

Calls are paid for after the fact with the ConsumedCapacity DynamoDB reports (restore reserves an
estimate first and settles it), so the long-run rate matches the budget; the burst is capped at
one second of budget. Thread-safe: restore's writer threads share one bucket."""

from __future__ import annotations

import threading
import time
from typing import Callable


class TokenBucket:
    def __init__(
        self, units_per_second: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.rate = float(units_per_second)
        self.clock, self.sleep = clock, sleep
        self.tokens = self.rate
        self.last = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now

    def take(self, units: float = 0.0) -> None:
        """Block until the bucket is not in debt, then spend `units` (an estimate, settled later)."""
        while True:
            with self._lock:
                self._refill()
                if self.tokens >= 0:
                    self.tokens -= units
                    return
                # at least 1 ms: float rounding can leave a debt of 1e-15 that a shorter sleep never repays
                wait_s = min(1.0, max(0.001, -self.tokens / self.rate))
            self.sleep(wait_s)

    def spend(self, units: float) -> None:
        """Pay for what a call consumed (or, negative, give back an estimate that was too high)."""
        with self._lock:
            self._refill()
            self.tokens -= units
