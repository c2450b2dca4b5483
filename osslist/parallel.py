"""Many key ranges listed by a pool of threads, merged back into one stream in key order.

One ListObjects round trip returns at most 1000 keys, so a sequential listing is bound by
latency. Here ``workers`` threads each list a *slot* (a key range) while the consumer reads
slots strictly in key order: the output is exactly the sequential listing's, page by page.

Memory stays bounded whatever the bucket's shape: a slot buffers at most ``max_pages_ahead``
pages (its worker blocks until the consumer drains it), and at most ``max_ranges_ahead``
slots are started and not yet consumed, so no more than
``max_ranges_ahead * max_pages_ahead + workers`` pages are ever held.

Ordered output only pays off if the ranges just ahead of the consumer are small, and nobody
knows in advance where keys cluster. So ranges are split while they run: when a worker is
idle, it takes the earliest running range that has seen a page and cuts off its remainder
after guesses one page apart (``ranges.extrapolate_cuts``); the running worker keeps the
part up to the first cut (it trims a page that crosses it) and the new slots, inserted right
after it, are listed by the idle workers. Cuts only ever move keys between adjacent slots,
so nothing is listed twice or skipped (see ``ranges``).

Errors in a worker stop the others and are raised by the consumer at its next step; closing
the iterator (or breaking out of the loop) stops the workers after their current request.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Sequence

from osslist.pages import record_name
from osslist.ranges import KeyRange, extrapolate_cuts

ListRange = Callable[[KeyRange, Any], Iterator[tuple[Any, Any]]]
"""``list_range(key_range, position_or_None) -> iter of (page, position after it)``, e.g.
``lambda r, p: listing.iter_pages(client, ranges.range_spec(spec, r), position=p)``."""


@dataclass(frozen=True, slots=True)
class PageEvent:
    """One page for the consumer, in key order.

    ``origin`` is the index of the input range the page belongs to; ``key_range`` the slot it
    was listed in; ``position`` where that slot would continue (``position.done``: finished)."""

    origin: int
    key_range: KeyRange
    page: Any
    position: Any


@dataclass(eq=False)
class _Slot:
    origin: int
    start_after: str
    end_before: str | None
    initial: Any = None  # position to start from (a resumed range), else None
    state: str = "pending"  # pending -> running -> done
    pages: deque[tuple[Any, Any]] = field(default_factory=deque)
    last_key: str | None = None
    sample: list[str] = field(default_factory=list)

    @property
    def key_range(self) -> KeyRange:
        return KeyRange(self.start_after, self.end_before)


class ParallelLister:
    """Lists ``ranges`` (in key order, consecutive or not) with ``workers`` threads.

    Iterate it once for :class:`PageEvent` objects in key order; between two events,
    :meth:`remaining` says what is left to list (for a checkpoint)."""

    def __init__(
        self,
        list_range: ListRange,
        ranges: Sequence[KeyRange],
        *,
        workers: int,
        positions: Sequence[Any] | None = None,
        max_pages_ahead: int = 2,
        max_ranges_ahead: int | None = None,
        split: bool = True,
        prefix: str = "",
        delimiter: str = "",
    ) -> None:
        if workers < 1 or max_pages_ahead < 1:
            raise ValueError("workers and max_pages_ahead must be at least 1")
        starts = positions if positions is not None else [None] * len(ranges)
        self._slots = [
            _Slot(i, r.start_after, r.end_before, initial=p) for i, (r, p) in enumerate(zip(ranges, starts))
        ]
        self._list_range = list_range
        self._workers = workers
        self._pages_ahead = max_pages_ahead
        self._ranges_ahead = max(max_ranges_ahead or 2 * workers, 1)
        self._split = split
        self._prefix, self._delimiter = prefix, delimiter
        self._cond = threading.Condition()
        self._head_position: Any = None
        self._error: BaseException | None = None
        self._closed = False
        self._threads: list[threading.Thread] = []
        self.splits = 0
        self.peak_buffered = 0

    # --- consumer side ---------------------------------------------------------------------

    def __iter__(self) -> Iterator[PageEvent]:
        self._start()
        try:
            while True:
                event = self._next_event()
                if event is None:
                    return
                yield event
        finally:
            self.close()

    def _next_event(self) -> PageEvent | None:
        with self._cond:
            while True:
                if self._error is not None:
                    raise self._error
                if not self._slots:
                    return None
                slot = self._slots[0]
                if slot.pages:
                    page, position = slot.pages.popleft()
                    self._head_position = position
                    self._cond.notify_all()
                    return PageEvent(slot.origin, slot.key_range, page, position)
                if slot.state == "done":
                    del self._slots[0]  # the head is always slot 0
                    self._head_position = None
                    self._cond.notify_all()
                    continue
                self._cond.wait()

    def remaining(self) -> list[tuple[KeyRange, Any]]:
        """What is left after the pages consumed so far, as (range, position to resume from).

        Pages buffered but not yet consumed do not count: their ranges restart from scratch."""
        with self._cond:
            left: list[tuple[KeyRange, Any]] = []
            for j in range(len(self._slots)):
                slot = self._slots[j]
                position = slot.initial
                if j == 0 and self._head_position is not None:
                    if self._head_position.done:
                        continue
                    position = self._head_position
                left.append((slot.key_range, position))
            return left

    def close(self) -> None:
        """Stop the workers (each after its current request) and wait for them."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()

    # --- worker side -------------------------------------------------------------------------

    def _start(self) -> None:
        for n in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"osslist-list-{n}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                slot = self._take()
            if slot is None:
                return
            try:
                self._run(slot)
            except BaseException as exc:  # handed to the consumer, which raises it
                with self._cond:
                    if self._error is None:
                        self._error = exc
                    self._closed = True
                    self._cond.notify_all()
                return

    def _started_ahead(self) -> int:
        return sum(1 for s in self._slots if s.state != "pending")

    def _take(self) -> _Slot | None:
        """Under the lock: the next slot to list, splitting one if none waits; None = stop."""
        while True:
            if self._closed:
                return None
            if self._started_ahead() < self._ranges_ahead:
                pending = next((s for s in self._slots if s.state == "pending"), None)
                if pending is not None:
                    pending.state = "running"
                    return pending
                if self._split and self._split_one():
                    continue
            if all(s.state == "done" for s in self._slots):
                return None
            self._cond.wait()

    def _split_one(self) -> bool:
        """Under the lock: cut the earliest splittable running slot; True if one was cut."""
        room = self._ranges_ahead - self._started_ahead()
        for index in range(len(self._slots)):
            slot = self._slots[index]
            if slot.state != "running" or len(slot.sample) < 2 or slot.last_key is None:
                continue
            cuts = extrapolate_cuts(
                slot.sample,
                steps=room,
                within=KeyRange(slot.last_key, slot.end_before),
                prefix=self._prefix,
                delimiter=self._delimiter,
            )
            if not cuts:
                continue
            pieces = [slot.key_range]
            for cut in cuts:
                low, high = pieces.pop().split_after(cut)
                pieces += [low, high]
            slot.end_before = pieces[0].end_before
            new = [_Slot(slot.origin, p.start_after, p.end_before) for p in pieces[1:]]
            self._slots[index + 1 : index + 1] = new
            self.splits += len(new)
            self._cond.notify_all()
            return True
        return False

    def _run(self, slot: _Slot) -> None:
        """List one slot into its buffer, honouring cuts made while it runs."""
        pages = self._list_range(KeyRange(slot.start_after, slot.end_before), slot.initial)
        try:
            for page, position in pages:
                keys = [record_name(r) for r in page.records]
                if not self._accept(slot, page, keys, position):
                    return
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()
            with self._cond:
                slot.state = "done"
                self._cond.notify_all()

    def _accept(self, slot: _Slot, page: Any, keys: list[str], position: Any) -> bool:
        """Buffer one page (trimmed to the slot's current end); False when the slot is over."""
        with self._cond:
            while len(slot.pages) >= self._pages_ahead and not self._closed:
                self._cond.wait()
            if self._closed:
                return False
            end = slot.end_before
            if end is not None and keys and keys[-1] >= end:
                kept = sum(1 for k in keys if k < end)
                page = replace(page, records=page.records[:kept])
                keys = keys[:kept]
                position = replace(position, done=True)
            slot.pages.append((page, position))
            if keys:
                slot.last_key = keys[-1]
                slot.sample = keys
            self.peak_buffered = max(self.peak_buffered, sum(len(s.pages) for s in self._slots))
            self._cond.notify_all()
            return not position.done


def iter_pages_parallel(
    list_range: ListRange,
    ranges: Sequence[KeyRange],
    *,
    workers: int,
    positions: Sequence[Any] | None = None,
    max_pages_ahead: int = 2,
    split: bool = True,
    prefix: str = "",
    delimiter: str = "",
) -> Iterator[PageEvent]:
    """Convenience wrapper: the events of a :class:`ParallelLister` (see its docstring)."""
    lister = ParallelLister(
        list_range,
        ranges,
        workers=workers,
        positions=positions,
        max_pages_ahead=max_pages_ahead,
        split=split,
        prefix=prefix,
        delimiter=delimiter,
    )
    yield from lister
