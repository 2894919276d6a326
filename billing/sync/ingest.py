"""Group commit: callouts arriving together are recorded in one transaction.

Each web process serves several requests at once (one thread each). The
first request thread to arrive while nobody is writing becomes the writer:
it records every callout waiting at that moment in one transaction, then
wakes their threads. Callouts that arrive during a write wait for it and go
into the next one. Alone, a callout is written at once, as before; under
load, one commit serves many callouts. A failed write fails every callout
of its batch, so none is answered 200 unless it was committed.
"""

import threading
from dataclasses import dataclass, field

from billing.metrics import CALLOUT_BATCH_SIZE
from billing.sync.queue import Callout, record_callouts

# Bounded so that one statement stays small and one slow write holds few.
MAX_BATCH = 64


@dataclass
class _Waiting:
    callout: Callout
    # Set when the callout's batch is written, or when this thread is to write next.
    wake: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    error: BaseException | None = None


@dataclass
class CalloutWriter:
    """Records callouts from many threads, several per transaction.

    Each waiting thread sleeps on its own event: a written batch wakes only
    its own callouts' threads, and the writer hands its role to the oldest
    waiting callout. (One condition for all woke every waiting thread at
    every commit, to find most of them still waiting: 8 % of a web process's
    interpreter time at saturation.)
    """

    max_batch: int = MAX_BATCH
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _queue: list[_Waiting] = field(default_factory=list)
    _writing: bool = False

    def record(self, callout: Callout) -> None:
        """Return once the callout is committed; raise what the write raised."""
        mine = _Waiting(callout)
        with self._lock:
            self._queue.append(mine)
            queued = self._writing
            self._writing = True
        if queued:
            mine.wake.wait()
            if mine.done:
                return self._outcome(mine)
            # Woken to write: the writer before left this callout first in line.
        with self._lock:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
        CALLOUT_BATCH_SIZE.observe(len(batch))
        error: BaseException | None = None
        try:
            record_callouts([waiting.callout for waiting in batch])
        except BaseException as failure:  # every waiter must learn what happened
            error = failure
        with self._lock:
            for waiting in batch:
                waiting.done, waiting.error = True, error
            successor = self._queue[0] if self._queue else None
            self._writing = successor is not None
        for waiting in batch:
            if waiting is not mine:
                waiting.wake.set()
        if successor is not None:
            successor.wake.set()
        return self._outcome(mine)

    @staticmethod
    def _outcome(waiting: _Waiting) -> None:
        if waiting.error is not None:
            raise waiting.error


writer = CalloutWriter()
