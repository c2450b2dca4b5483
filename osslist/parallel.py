"""Many key ranges listed by a pool of threads, merged back into one stream in key order.

One ListObjects round trip returns at most 1000 keys, so a sequential listing is bound by
latency. Here ``workers`` threads each list a *slot* (a key range) while the consumer reads
slots strictly in key order: the output is exactly the sequential listing's, page by page.

Memory stays bounded whatever the bucket's shape: a slot buffers at most ``max_pages_ahead``
pages (then it is parked: its worker moves on and a later one resumes it from its position),
and all slots together at most ``max_ranges_ahead * max_pages_ahead`` (default: workers x 8
pages); with the pages in flight, no more than that ``+ workers`` are ever held.

Ordered output only pays off if the work just ahead of the consumer is spread over all
workers, and every point where two workers' listings meet costs a partial page. So workers
take the pending slot nearest the consumer, listings run on into fresh neighbours at no
cost, and ranges are cut while they run where the keys say a page ends (see
:class:`ParallelLister`). Cuts only ever move keys between adjacent slots, so nothing is
listed twice or skipped (see ``ranges``).

Errors in a worker stop the others and are raised by the consumer at its next step; closing
the iterator (or breaking out of the loop) stops the workers after their current request.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Sequence

from osslist.pages import record_name
from osslist.keymodel import piece_cuts
from osslist.ranges import KeyRange, successor

_PAGE = 1000.0
"""Keys in a full page, for estimates only."""

ListRange = Callable[[KeyRange, Any], Iterator[tuple[Any, Any]]]
"""``list_range(key_range, position_or_None) -> iter of (page, position after it)``, e.g.
``lambda r, p: listing.iter_pages(client, ranges.range_spec(spec, r), position=p)``."""

Pack = Callable[[list[Any]], Any]
"""``pack(records of one page, already cut to its slot) -> what the consumer gets as
PageEvent.page``: e.g. the page's output bytes and counts, far smaller than the records."""


@dataclass(frozen=True, slots=True)
class PageEvent:
    """One page for the consumer, in key order.

    ``origin`` is the index of the input range the page's slot began in (a listing runs on
    into adjacent fresh ranges, so a page may also hold keys of the ones after it); ``key_range`` the slot it
    was listed in; ``position`` where that slot would continue (``position.done``: finished).
    ``page`` is the listed page, or what ``pack`` made of its records when one was given."""

    origin: int
    key_range: KeyRange
    page: Any
    position: Any


@dataclass(eq=False)
class _Slot:
    origin: int
    start_after: str
    end_before: str | None
    initial: Any = None  # position to resume from (a resumed range), else None
    state: str = "pending"  # pending (fresh or parked) -> running -> ... -> done
    position: Any = None  # where the next worker continues (None: from initial)
    listing_end: str | None = None  # the end the current listing was started with
    started: bool = False
    pages: deque[tuple[Any, Any]] = field(default_factory=deque)
    last_key: str | None = None
    sample: list[str] = field(default_factory=list)
    no_cut: tuple[int, str | None] | None = None  # (id(sample), end) known to give no cut
    claimable: bool = False  # a piece cut off for an idle worker: take it even behind a listing

    @property
    def key_range(self) -> KeyRange:
        return KeyRange(self.start_after, self.end_before)


class ParallelLister:
    """Lists ``ranges`` (in key order, consecutive or not) with ``workers`` threads.

    Iterate it once for :class:`PageEvent` objects in key order; between two events,
    :meth:`remaining` says what is left to list (for a checkpoint).

    Scheduling, and why: workers always take the pending slot nearest the consumer, so the
    pages fetched are the ones needed next. A slot whose buffer holds ``max_pages_ahead``
    pages is *parked* (its position kept, no request wasted) and its worker moves on, so a
    slow range never stalls the others. Pages buffered in all slots are capped at
    ``max_ranges_ahead * max_pages_ahead``. A listing that reaches a fresh (never started)
    neighbour simply continues into it, so a boundary costs a request only where two workers
    meet; fresh slots right behind a live listing are left to it until ``piece_pages`` pages
    of them are queued. With no pending slot, an idle worker cuts the nearest slot
    ``piece_pages`` pages past its last key (``keymodel.piece_cuts``: on a page boundary for
    numbered keys, so the piece below ends without a wasted request). One cut at a time:
    guesses chained past the first land in gaps between folders and cost empty requests."""

    def __init__(
        self,
        list_range: ListRange,
        ranges: Sequence[KeyRange],
        *,
        workers: int,
        positions: Sequence[Any] | None = None,
        max_pages_ahead: int = 8,
        max_ranges_ahead: int | None = None,
        split: bool = True,
        prefix: str = "",
        delimiter: str = "",
        piece_pages: float = 3.0,
        pack: Pack | None = None,
    ) -> None:
        if workers < 1 or max_pages_ahead < 1:
            raise ValueError("workers and max_pages_ahead must be at least 1")
        starts = positions if positions is not None else [None] * len(ranges)
        self._slots = [
            _Slot(i, r.start_after, r.end_before, initial=p) for i, (r, p) in enumerate(zip(ranges, starts))
        ]
        self._list_range = list_range
        self._pack = pack
        self._workers = workers
        self._pages_ahead = max_pages_ahead
        self._budget = max(max_ranges_ahead or workers, 1) * max_pages_ahead
        self._shared = max(self._budget - max_pages_ahead - workers, 1)
        self._split = split
        self._piece_pages = piece_pages
        self._prefix, self._delimiter = prefix, delimiter
        self._cond = threading.Condition()
        self._head_position: Any = None
        self._error: BaseException | None = None
        self._closed = False
        self._keys_seen = 0
        self._slots_done = 0
        self._buffered = 0
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
            self.close(wait=False)  # the caller's close(), if any, decides whether to wait

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
                    self._buffered -= 1
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

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers: each stops after its current request, whose page is dropped.
        ``wait=False`` abandons those requests (SIGTERM, an error, --limit reached): the
        caller goes on at once and the daemon threads end on their own."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads if wait else ():
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

    def _take(self) -> _Slot | None:
        """Under the lock: the pending slot nearest the consumer (cutting one if none waits)
        while the page budget has room; None = stop."""
        while True:
            if self._closed:
                return None
            if self._head_starving() or self._buffered < self._shared:
                slot, behind = self._nearest_pending()
                slot = slot or behind
                if slot is None and self._split and self._split_one():
                    continue
                if slot is not None:
                    slot.state = "running"
                    slot.listing_end = self._chain_end(slot)
                    return slot
            if all(s.state == "done" for s in self._slots):
                return None
            self._cond.wait()

    def _nearest_pending(self) -> tuple[_Slot | None, _Slot | None]:
        """Under the lock: (the pending slot nearest the consumer that no listing is running
        into, the nearest fresh slot that has ``piece_pages`` pages of fresh slots between it
        and a listing running into them). The second is the fallback when nothing can be cut
        near the consumer: a fresh slot right behind a live listing is best left to it (it
        runs on into it for free), but when enough is queued behind it a new worker starting
        there costs one partial page for several saved round trips."""
        queued, live = 0.0, False
        previous: _Slot | None = None
        behind: _Slot | None = None
        for slot in self._slots:
            fresh = not slot.started and slot.initial is None
            adjacent = previous is not None and self._absorbable(previous.end_before, previous.origin, slot)
            live = adjacent and previous is not None and self._feeds(previous, live)
            if slot.state == "pending" and len(slot.pages) < self._pages_ahead:
                if not fresh or not live or slot.claimable:
                    return slot, behind
                if behind is None and queued >= self._piece_pages:
                    behind = slot
            queued = queued + self._fresh_pages() if live else 0.0
            previous = slot
        return None, behind

    @staticmethod
    def _feeds(previous: _Slot, previous_live: bool) -> bool:
        """True when a listing is running into the slot after ``previous``: ``previous`` is
        being listed now, or is fresh and itself has such a listing running into it."""
        if previous.state == "running":
            return True
        return previous.state == "pending" and not previous.started and previous_live

    def _fresh_pages(self) -> float:
        """Pages a fresh slot is expected to hold: the average of the slots listed so far."""
        return self._keys_seen / max(self._slots_done, 1) / _PAGE if self._slots_done else 1.0

    def _chain_end(self, slot: _Slot) -> str | None:
        """Under the lock: the end of ``slot`` extended over the fresh neighbours after it, so
        one listing can run on into them (see :meth:`_absorb`)."""
        index = self._slots.index(slot)
        end = slot.end_before
        for nxt in self._slots[index + 1 :]:
            if not self._absorbable(end, slot.origin, nxt):
                break
            end = nxt.end_before
        return end

    @staticmethod
    def _absorbable(end: str | None, origin: int, nxt: _Slot) -> bool:
        """True when ``nxt`` was never started and begins exactly where ``end`` stops."""
        return (
            end is not None
            and nxt.state == "pending"
            and not nxt.started
            and nxt.initial is None
            and successor(nxt.start_after) == end
        )

    def _split_one(self) -> bool:
        """Under the lock: cut the slot nearest the consumer ``piece_pages`` pages past its
        last key; True if one was cut."""
        steps = 1
        for index, slot in enumerate(self._slots):
            if slot.state == "done" or len(slot.sample) < 2 or slot.last_key is None:
                continue
            if slot.no_cut == (id(slot.sample), slot.end_before):
                continue  # a model per page costs CPU: never recompute the same answer
            cuts = piece_cuts(
                slot.sample,
                after=slot.last_key,
                within=KeyRange(slot.last_key, slot.end_before),
                pages=self._piece_pages,
                steps=steps,
                prefix=self._prefix,
                delimiter=self._delimiter,
            )
            if not cuts:
                slot.no_cut = (id(slot.sample), slot.end_before)
                continue
            pieces = [slot.key_range]
            for cut in cuts:
                low, high = pieces.pop().split_after(cut)
                pieces += [low, high]
            slot.end_before = pieces[0].end_before
            new = [_Slot(slot.origin, p.start_after, p.end_before, claimable=True) for p in pieces[1:]]
            self._slots[index + 1 : index + 1] = new
            self.splits += len(new)
            self._cond.notify_all()
            return True
        return False

    def _run(self, slot: _Slot) -> None:
        """List one slot into its buffer until it is done or parked."""
        start = slot.position if slot.position is not None else slot.initial
        slot.started = True
        pages = self._list_range(KeyRange(slot.start_after, slot.listing_end), start)
        outcome = "done"
        try:
            for page, position in pages:
                keys = [record_name(r) for r in page.records]
                packed = self._pack(page.records) if self._pack is not None else None
                outcome = self._accept(slot, page, keys, position, packed)
                if outcome != "more":
                    break
            else:
                outcome = "done"
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()
            with self._cond:
                slot.state = "pending" if outcome == "park" else "done"
                self._slots_done += slot.state == "done"
                self._cond.notify_all()

    def _absorb(self, slot: _Slot) -> bool:
        """Under the lock: take over the fresh neighbour after ``slot`` if the running listing
        already covers it; True if one was taken."""
        index = self._slots.index(slot)
        if index + 1 >= len(self._slots):
            return False
        nxt = self._slots[index + 1]
        if not self._absorbable(slot.end_before, slot.origin, nxt):
            return False
        if slot.listing_end is not None and (nxt.end_before is None or nxt.end_before > slot.listing_end):
            return False
        slot.end_before = nxt.end_before
        del self._slots[index + 1]
        self._slots_done += 1
        return True

    def _at_end(self, slot: _Slot, keys: list[str], position: Any) -> bool:
        """Under the lock: True when the slot has nothing left after this page, taking over
        fresh neighbours the listing runs into instead of stopping."""
        while True:
            end = slot.end_before
            crossing = end is not None and bool(keys) and keys[-1] >= end
            exhausted = position.done or (end is not None and bool(keys) and successor(keys[-1]) >= end)
            if not (crossing or exhausted):
                return False
            if position.done and not crossing and slot.end_before == slot.listing_end:
                return True
            if not self._absorb(slot):
                return True

    def _accept(self, slot: _Slot, page: Any, keys: list[str], position: Any, packed: Any = None) -> str:
        """Buffer one page (trimmed to the slot's end): "more", "done", "park" or "closed".

        With ``pack``, the worker packed the whole page before taking the lock (the common
        case: nothing to cut); a page cut here is packed again, only its kept part."""
        with self._cond:
            while not self._closed and self._must_wait(slot):
                self._cond.wait()
            if self._closed:
                return "closed"
            done = self._at_end(slot, keys, position)
            end = slot.end_before
            if end is not None and keys and keys[-1] >= end:
                kept = bisect.bisect_left(keys, end)
                page = replace(page, records=page.records[:kept])
                keys = keys[:kept]
                packed = self._pack(page.records) if self._pack is not None else None
            if done:
                position = replace(position, done=True)
            slot.pages.append((page if self._pack is None else packed, position))
            self._buffered += 1
            self._keys_seen += len(keys)
            slot.position = position
            if len(keys) >= 2:
                slot.last_key, slot.sample = keys[-1], keys
            elif keys:
                slot.last_key = keys[-1]
            self.peak_buffered = max(self.peak_buffered, self._buffered)
            self._cond.notify_all()
            if done:
                return "done"
            full = len(slot.pages) >= self._pages_ahead or self._over_budget(slot)
            return "park" if full else "more"

    def _over_budget(self, slot: _Slot) -> bool:
        """Under the lock: True when ``slot`` may not buffer more now. The head has its own
        ``max_pages_ahead``; the others share what is left of the budget after the head and
        one page per worker, so the total stays within the budget."""
        if self._slots and self._slots[0] is slot:
            return len(slot.pages) >= self._pages_ahead
        return self._buffered >= self._shared

    def _head_starving(self) -> bool:
        """Under the lock: the head is waiting for a worker (it must never wait on others)."""
        head = self._slots[0] if self._slots else None
        return head is not None and head.state == "pending" and len(head.pages) < self._pages_ahead

    def _must_wait(self, slot: _Slot) -> bool:
        """Under the lock: wait while over budget, unless the head needs this worker (then the
        page is kept and the slot parked, see :meth:`_accept`)."""
        return self._over_budget(slot) and not self._head_starving()

