"""A pass reads the next page from Zuora while it writes the current one, and no further."""

import threading
from collections.abc import Iterator

import pytest

from billing.sync.backfill import read_ahead


class Source:
    """Items produced on demand, remembering how many were asked for."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.produced = 0
        self.changed = threading.Condition()

    def __iter__(self) -> Iterator[int]:
        for index in range(self.count):
            if index == self.fail_at:
                raise ConnectionError("Zuora went away")
            with self.changed:
                self.produced = index + 1
                self.changed.notify_all()
            yield index

    def wait_for(self, produced: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.produced >= produced, timeout=10)


def test_the_next_item_is_produced_while_the_caller_holds_this_one() -> None:
    source = Source(5)
    items = read_ahead(iter(source))

    first = next(items)

    assert first == 0
    assert source.wait_for(2), "the second item was not read ahead"
    assert source.produced == 2, "read more than one item ahead"
    assert [first, *items] == [0, 1, 2, 3, 4]


def test_an_error_reading_comes_after_the_items_before_it() -> None:
    items = read_ahead(iter(Source(5, fail_at=3)))
    received = [next(items), next(items), next(items)]

    with pytest.raises(ConnectionError, match="went away"):
        next(items)

    assert received == [0, 1, 2]


def test_nothing_is_left_running_when_the_caller_stops_early() -> None:
    source = Source(100)
    items = read_ahead(iter(source))
    assert next(items) == 0

    items.close()

    assert source.produced <= 2
    assert not [t for t in threading.enumerate() if t.name.startswith("zuora-read-ahead")]
