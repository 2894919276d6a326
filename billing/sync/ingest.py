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
    done: bool = False
    error: BaseException | None = None


@dataclass
class CalloutWriter:
    """Records callouts from many threads, several per transaction."""

    max_batch: int = MAX_BATCH
    _condition: threading.Condition = field(default_factory=threading.Condition)
    _queue: list[_Waiting] = field(default_factory=list)
    _writing: bool = False

    def record(self, callout: Callout) -> None:
        """Return once the callout is committed; raise what the write raised."""
        mine = _Waiting(callout)
        with self._condition:
            self._queue.append(mine)
            while self._writing and not mine.done:
                self._condition.wait()
            if mine.done:
                return self._outcome(mine)
            self._writing = True
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
        CALLOUT_BATCH_SIZE.observe(len(batch))
        error: BaseException | None = None
        try:
            record_callouts([waiting.callout for waiting in batch])
        except BaseException as failure:  # every waiter must learn what happened
            error = failure
        with self._condition:
            for waiting in batch:
                waiting.done, waiting.error = True, error
            self._writing = False
            self._condition.notify_all()
        return self._outcome(mine)

    @staticmethod
    def _outcome(waiting: _Waiting) -> None:
        if waiting.error is not None:
            raise waiting.error


writer = CalloutWriter()
