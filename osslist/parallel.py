"""Many key ranges listed by a pool of threads, merged back into one stream in key order.

One ListObjects round trip returns at most 1000 keys, so a sequential listing is bound by
latency. Here ``workers`` threads each list a *slot* (a key range) while the consumer reads
slots strictly in key order: the output is exactly the sequential listing's, page by page.

Three parts, one lock:

- :class:`_Budget` (buffering): a slot buffers at most ``max_pages_ahead`` pages (then it is
  parked: its worker moves on and a later one resumes it from its position), and all slots
  together at most ``max_ranges_ahead * max_pages_ahead`` (default: workers x 8 pages); with
  the pages in flight, no more than that ``+ workers`` are ever held, whatever the bucket's shape.
- :class:`_Schedule` (policy): which slot a free worker takes, when and where to split a
  range, and which fresh neighbours a running listing takes over. Ordered output only pays off
  if the work just ahead of the consumer is spread over all workers, and every point where two
  workers' listings meet costs a partial page. So workers take the pending slot nearest the
  consumer, listings run on into fresh neighbours at no cost, and ranges are cut while they run
  where the keys say a page ends. Cuts only ever move keys between adjacent slots, so nothing
  is listed twice or skipped (see ``ranges``).
- :class:`ParallelLister`: the threads, the consumer's side, and the hand-over between them.

A slot's end is cut in one place: the listing (``listing.iter_pages``) asks the slot for its
end for each page (:meth:`_Schedule.bound`), which also takes over the fresh neighbours the page
reaches and reserves its keys, so no later split lands inside a page already listed.

Errors in a worker stop the others and are raised by the consumer at its next step; closing
the iterator stops the workers after their current request (``close(wait=False)`` does not
wait for it: SIGTERM, --limit).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Callable, Generic, Iterator, Sequence, TypeVar

from osslist.keymodel import piece_cuts
from osslist.listing import Bound, Position
from osslist.pages import Page, Record, record_name
from osslist.ranges import KeyRange, successor

P = TypeVar("P")

_PAGE = 1000.0
"""Keys in a full page, for estimates only."""

ListRange = Callable[[KeyRange, "Position | None", "Bound | None"], Iterator[tuple[Page, Position]]]
"""``list_range(key_range, position_or_None, bound) -> iter of (page, position after it)``, e.g.
``lambda r, p, b: listing.iter_pages(client, ranges.range_spec(spec, r), position=p, bound=b)``."""

Pack = Callable[[list[Record]], P]
"""``pack(records of one page, already cut to its slot) -> what the consumer gets as
SlotPage.page``: e.g. the page's output bytes and counts, far smaller than the records."""


class SlotState(Enum):
    """Where a slot stands: waiting for a worker (fresh, or parked with its position kept),
    being listed, or finished (its pages may still wait in its buffer)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"


class _Outcome(Enum):
    """What a worker does after buffering a page."""

    MORE = "more"  # list the next page of this slot
    DONE = "done"  # the slot is finished
    PARK = "park"  # the buffer is full: leave the slot pending and take another
    CLOSED = "closed"  # the lister was closed: stop


@dataclass(frozen=True, slots=True)
class SlotPage(Generic[P]):
    """One page for the consumer, in key order.

    ``origin`` is the index of the input range the page's slot began in (a listing runs on
    into adjacent fresh ranges, so a page may also hold keys of the ones after it); ``key_range``
    the slot it was listed in; ``position`` where that slot would continue (``position.done``:
    finished). ``page`` is what ``pack`` made of the page's records."""

    origin: int
    key_range: KeyRange
    page: P
    position: Position


@dataclass(eq=False)
class _Slot(Generic[P]):
    origin: int
    start_after: str
    end_before: str | None
    initial: Position | None = None  # position to resume from (a resumed range), else None
    state: SlotState = SlotState.PENDING
    position: Position | None = None  # where the next worker continues (None: from initial)
    listing_end: str | None = None  # the end the current listing was started with
    started: bool = False
    pages: deque[tuple[P, Position]] = field(default_factory=deque)
    last_key: str | None = None  # the last key listed (reserved: no cut at or below it)
    sample: list[str] = field(default_factory=list)  # the keys of the last full page
    no_cut: tuple[int, str | None, str | None] | None = None  # (id(sample), end, last_key) known to give no cut
    claimable: bool = False  # a piece cut off for an idle worker: take it even behind a listing

    @property
    def key_range(self) -> KeyRange:
        return KeyRange(self.start_after, self.end_before)

    @property
    def fresh(self) -> bool:
        """Never listed and not resumed: a listing may run on into it."""
        return not self.started and self.initial is None


class _Budget:
    """How many listed pages may wait for the consumer (all under the lister's lock)."""

    def __init__(self, *, per_slot: int, slots: int, workers: int) -> None:
        self.per_slot = per_slot
        self.shared = max(slots * per_slot - per_slot - workers, 1)
        """What slots other than the head share: the budget less the head's own and one
        page per worker (in flight), so the total stays within the budget."""
        self.buffered = 0
        self.peak = 0

    def add(self) -> None:
        self.buffered += 1
        self.peak = max(self.peak, self.buffered)

    def remove(self) -> None:
        self.buffered -= 1

    def room(self) -> bool:
        """A worker may start listing a slot that is not the head."""
        return self.buffered < self.shared

    def full(self, slot: _Slot[P], *, head: bool) -> bool:
        """``slot`` may not buffer more now: the head has its own ``per_slot``; the others
        share what is left of the budget."""
        return len(slot.pages) >= self.per_slot if head else self.buffered >= self.shared


class _Schedule(Generic[P]):
    """The policy (under the lister's lock): which slot next, when to split, what to absorb.

    Workers always take the pending slot nearest the consumer, so the pages fetched are the
    ones needed next. A listing that reaches a fresh (never started) neighbour simply continues
    into it, so a boundary costs a request only where two workers meet; fresh slots right
    behind a live listing are left to it until ``piece_pages`` pages of them are queued. With
    no pending slot, an idle worker cuts the nearest slot ``piece_pages`` pages past its last
    key (``keymodel.piece_cuts``: on a page boundary for numbered keys, so the piece below ends
    without a wasted request). One cut at a time: guesses chained past the first land in gaps
    between folders and cost empty requests."""

    def __init__(
        self, slots: list[_Slot[P]], *, pages_ahead: int, split: bool, piece_pages: float, prefix: str, delimiter: str
    ) -> None:
        self.slots = slots
        self._pages_ahead = pages_ahead
        self._split = split
        self._piece_pages = piece_pages
        self._prefix, self._delimiter = prefix, delimiter
        self._keys_seen = 0
        self._slots_done = 0
        self.splits = 0

    @property
    def head(self) -> _Slot[P] | None:
        return self.slots[0] if self.slots else None

    def all_done(self) -> bool:
        return all(s.state is SlotState.DONE for s in self.slots)

    def count_done(self, keys: int, *, slot_done: bool) -> None:
        """Statistics for :meth:`_fresh_pages`: keys accepted, slots finished."""
        self._keys_seen += keys
        self._slots_done += slot_done

    def next_slot(self) -> _Slot[P] | None:
        """The slot a free worker should list now (cutting one if none waits), else None."""
        while True:
            slot, behind = self._nearest_pending()
            slot = slot or behind
            if slot is not None:
                slot.state, slot.listing_end = SlotState.RUNNING, self._chain_end(slot)
                return slot
            if not (self._split and self._split_one()):
                return None

    def _nearest_pending(self) -> tuple[_Slot[P] | None, _Slot[P] | None]:
        """(the pending slot nearest the consumer that no listing is running into, the nearest
        fresh slot that has ``piece_pages`` pages of fresh slots between it and a listing
        running into them). The second is the fallback when nothing can be cut near the
        consumer: a fresh slot right behind a live listing is best left to it (it runs on into
        it for free), but when enough is queued behind it a new worker starting there costs one
        partial page for several saved round trips."""
        queued, live = 0.0, False
        previous: _Slot[P] | None = None
        behind: _Slot[P] | None = None
        for slot in self.slots:
            adjacent = previous is not None and self._absorbable(previous.end_before, slot)
            live = adjacent and previous is not None and self._feeds(previous, live)
            if slot.state is SlotState.PENDING and len(slot.pages) < self._pages_ahead:
                if not slot.fresh or not live or slot.claimable:
                    return slot, behind
                if behind is None and queued >= self._piece_pages:
                    behind = slot
            queued = queued + self._fresh_pages() if live else 0.0
            previous = slot
        return None, behind

    @staticmethod
    def _feeds(previous: _Slot[P], previous_live: bool) -> bool:
        """True when a listing is running into the slot after ``previous``: ``previous`` is
        being listed now, or is fresh and itself has such a listing running into it."""
        if previous.state is SlotState.RUNNING:
            return True
        return previous.state is SlotState.PENDING and not previous.started and previous_live

    def _fresh_pages(self) -> float:
        """Pages a fresh slot is expected to hold: the average of the slots listed so far."""
        return self._keys_seen / max(self._slots_done, 1) / _PAGE if self._slots_done else 1.0

    def _chain_end(self, slot: _Slot[P]) -> str | None:
        """The end of ``slot`` extended over the fresh neighbours after it, so one listing can
        run on into them (see :meth:`bound`)."""
        index = self.slots.index(slot)
        end = slot.end_before
        for nxt in self.slots[index + 1 :]:
            if not self._absorbable(end, nxt):
                break
            end = nxt.end_before
        return end

    @staticmethod
    def _absorbable(end: str | None, nxt: _Slot[P]) -> bool:
        """True when ``nxt`` was never started and begins exactly where ``end`` stops."""
        return end is not None and nxt.state is SlotState.PENDING and nxt.fresh and successor(nxt.start_after) == end

    def bound(self, slot: _Slot[P], last: str) -> str | None:
        """The end to cut a page at whose last key is ``last``: the slot's end, after taking
        over the fresh neighbours the page reaches. Reserves the page's keys (``last_key``), so
        no split lands inside it."""
        while slot.end_before is not None and successor(last) >= slot.end_before and self._absorb(slot):
            pass
        slot.last_key = max(slot.last_key or "", last)
        return slot.end_before

    def _absorb(self, slot: _Slot[P]) -> bool:
        """Take over the fresh neighbour after ``slot`` if the running listing already covers
        it; True if one was taken."""
        index = self.slots.index(slot)
        if index + 1 >= len(self.slots):
            return False
        nxt = self.slots[index + 1]
        if not self._absorbable(slot.end_before, nxt):
            return False
        if slot.listing_end is not None and (nxt.end_before is None or nxt.end_before > slot.listing_end):
            return False
        slot.end_before = nxt.end_before
        del self.slots[index + 1]
        self._slots_done += 1
        return True

    def finished(self, slot: _Slot[P], keys: list[str], position: Position) -> bool:
        """True when ``slot`` has nothing left after a page (already cut by the listing):
        the listing is done (then the fresh neighbours its listing covered, left empty by a
        listing that ran out of keys, are taken over too), or the last key leaves no room."""
        if position.done:
            while slot.end_before != slot.listing_end and self._absorb(slot):
                pass
            return True
        # a version listing's last key may have more versions on the next page (whole_keys False)
        whole = position.whole_keys
        return whole and slot.end_before is not None and bool(keys) and successor(keys[-1]) >= slot.end_before

    def _split_one(self) -> bool:
        """Cut the slot nearest the consumer ``piece_pages`` pages past its last key; True if
        one was cut."""
        for index, slot in enumerate(self.slots):
            cuts = self._cuts(slot)
            if not cuts:
                continue
            pieces = [slot.key_range]
            for cut in cuts:
                low, high = pieces.pop().split_after(cut)
                pieces += [low, high]
            slot.end_before = pieces[0].end_before
            new = [_Slot[P](slot.origin, p.start_after, p.end_before, claimable=True) for p in pieces[1:]]
            self.slots[index + 1 : index + 1] = new
            self.splits += len(new)
            return True
        return False

    def _cuts(self, slot: _Slot[P]) -> list[str]:
        """Where ``slot`` could be cut now (past its reserved keys), remembering a no."""
        if slot.state is SlotState.DONE or len(slot.sample) < 2 or slot.last_key is None:
            return []
        if slot.no_cut == (id(slot.sample), slot.end_before, slot.last_key):
            return []  # a model per page costs CPU: never recompute the same answer
        cuts = piece_cuts(
            slot.sample, after=slot.last_key, within=KeyRange(slot.last_key, slot.end_before),
            pages=self._piece_pages, steps=1, prefix=self._prefix, delimiter=self._delimiter,
        )
        if not cuts:
            slot.no_cut = (id(slot.sample), slot.end_before, slot.last_key)
        return cuts


class ParallelLister(Generic[P]):
    """Lists ``ranges`` (in key order, consecutive or not) with ``workers`` threads.

    Iterate it once for :class:`SlotPage` objects in key order; between two pages,
    :meth:`remaining` says what is left to list (for a checkpoint). Pages are ``pack``-ed in the
    worker that listed them (``pack=None``: the records' ``Page`` itself). Scheduling is
    :class:`_Schedule`'s, buffering :class:`_Budget`'s."""

    def __init__(
        self,
        list_range: ListRange,
        ranges: Sequence[KeyRange],
        *,
        workers: int,
        positions: Sequence[Position | None] | None = None,
        max_pages_ahead: int = 8,
        max_ranges_ahead: int | None = None,
        split: bool = True,
        prefix: str = "",
        delimiter: str = "",
        piece_pages: float = 3.0,
        pack: Pack[P] | None = None,
    ) -> None:
        if workers < 1 or max_pages_ahead < 1:
            raise ValueError("workers and max_pages_ahead must be at least 1")
        starts = positions if positions is not None else [None] * len(ranges)
        slots = [_Slot[P](i, r.start_after, r.end_before, initial=p) for i, (r, p) in enumerate(zip(ranges, starts))]
        self._schedule = _Schedule(slots, pages_ahead=max_pages_ahead, split=split, piece_pages=piece_pages,
                                   prefix=prefix, delimiter=delimiter)
        self._budget = _Budget(per_slot=max_pages_ahead, slots=max(max_ranges_ahead or workers, 1), workers=workers)
        self._list_range = list_range
        self._pack = pack
        self._workers = workers
        self._cond = threading.Condition()
        self._head_position: Position | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._threads: list[threading.Thread] = []

    @property
    def splits(self) -> int:
        """Ranges cut off while listing (for tests and benchmarks)."""
        return self._schedule.splits

    @property
    def peak_buffered(self) -> int:
        """The most pages ever buffered at once."""
        return self._budget.peak

    # --- consumer side ---------------------------------------------------------------------

    def __iter__(self) -> Iterator[SlotPage[P]]:
        self._start()
        try:
            while True:
                event = self._next_event()
                if event is None:
                    return
                yield event
        finally:
            self.close(wait=False)  # the caller's close(), if any, decides whether to wait

    def _next_event(self) -> SlotPage[P] | None:
        with self._cond:
            while True:
                if self._error is not None:
                    raise self._error
                slot = self._schedule.head
                if slot is None:
                    return None
                if slot.pages:
                    page, position = slot.pages.popleft()
                    self._budget.remove()
                    self._head_position = position
                    self._cond.notify_all()
                    return SlotPage(slot.origin, slot.key_range, page, position)
                if slot.state is SlotState.DONE:
                    del self._schedule.slots[0]  # the head is always slot 0
                    self._head_position = None
                    self._cond.notify_all()
                    continue
                self._cond.wait()

    def remaining(self) -> list[tuple[KeyRange, Position | None]]:
        """What is left after the pages consumed so far, as (range, position to resume from).

        Pages buffered but not yet consumed do not count: their ranges restart from scratch."""
        with self._cond:
            left: list[tuple[KeyRange, Position | None]] = []
            for j, slot in enumerate(self._schedule.slots):
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

    def _take(self) -> _Slot[P] | None:
        """Under the lock: the slot to list next while the page budget has room; None = stop."""
        while not self._closed:
            if self._head_starving() or self._budget.room():
                slot = self._schedule.next_slot()
                if slot is not None:
                    self._cond.notify_all()
                    return slot
            if self._schedule.all_done():
                return None
            self._cond.wait()
        return None

    def _run(self, slot: _Slot[P]) -> None:
        """List one slot into its buffer until it is done or parked."""
        start = slot.position if slot.position is not None else slot.initial
        slot.started = True
        pages = self._list_range(KeyRange(slot.start_after, slot.listing_end), start, self._bound_of(slot))
        outcome = _Outcome.DONE
        try:
            for page, position in pages:
                keys = [record_name(r) for r in page.records]
                packed = self._pack(page.records) if self._pack is not None else page
                outcome = self._accept(slot, packed, keys, position)  # type: ignore[arg-type]  # no pack: P is Page
                if outcome is not _Outcome.MORE:
                    break
            else:
                outcome = _Outcome.DONE
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()
            with self._cond:
                slot.state = SlotState.PENDING if outcome is _Outcome.PARK else SlotState.DONE
                self._schedule.count_done(0, slot_done=slot.state is SlotState.DONE)
                self._cond.notify_all()

    def _bound_of(self, slot: _Slot[P]) -> Bound:
        """The slot's live end for the listing to cut each page at (see ``_Schedule.bound``)."""

        def bound(last: str) -> str | None:
            with self._cond:
                return self._schedule.bound(slot, last)

        return bound

    def _accept(self, slot: _Slot[P], packed: P, keys: list[str], position: Position) -> _Outcome:
        """Buffer one page (the listing already cut it to the slot's end)."""
        with self._cond:
            while not self._closed and self._must_wait(slot):
                self._cond.wait()
            if self._closed:
                return _Outcome.CLOSED
            done = self._schedule.finished(slot, keys, position)
            position = replace(position, done=True) if done else position
            slot.pages.append((packed, position))
            self._budget.add()
            self._schedule.count_done(len(keys), slot_done=False)
            slot.position = position
            if keys:
                slot.last_key = max(slot.last_key or "", keys[-1])
            if len(keys) >= 2:
                slot.sample = keys
            self._cond.notify_all()
            if done:
                return _Outcome.DONE
            full = len(slot.pages) >= self._budget.per_slot or self._budget.full(slot, head=slot is self._schedule.head)
            return _Outcome.PARK if full else _Outcome.MORE

    def _head_starving(self) -> bool:
        """Under the lock: the head is waiting for a worker (it must never wait on others)."""
        head = self._schedule.head
        return head is not None and head.state is SlotState.PENDING and len(head.pages) < self._budget.per_slot

    def _must_wait(self, slot: _Slot[P]) -> bool:
        """Under the lock: wait while over budget, unless the head needs this worker (then the
        page is kept and the slot parked, see :meth:`_accept`)."""
        return self._budget.full(slot, head=slot is self._schedule.head) and not self._head_starving()
