"""The sources of a run: its pages in key order, one ``PageEvent`` each, sequential or parallel.

A source lists the run's ranges (resumed from their positions when a checkpoint says so) and
hands each page over already *packed*: the records the filter kept, rendered by the writer, with
their count and totals (``pack``). The parallel source packs in its worker threads, the
sequential one in the caller's; either way the run loop (``runner``) receives the same event and
never knows which source it has. Each event also says where its range continues and, on demand,
what is left to list: what a checkpoint saves right after the page is written.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial
from typing import Callable, Generator, Generic, Protocol, Sequence, TypeVar

from osslist.filters import Predicate, keep_all
from osslist.listing import Position
from osslist.pages import Record
from osslist.parallel import ListRange, ParallelLister
from osslist.ranges import KeyRange, successor
from osslist.summary import Summary

P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)

Pending = tuple[KeyRange, "Position | None"]
"""A range still to list and where to continue it (None: from its start)."""


class Render(Protocol[P_co]):
    """What a writer does off the consumer's thread: a page of records -> its output."""

    def __call__(self, records: Sequence[Record], /) -> P_co: ...


@dataclass(frozen=True, slots=True)
class Rendered(Generic[P]):
    """A page as the sink takes it: the output of the records the filter kept (bytes for the
    record writers), how many there were, and their totals. A buffered page of text output
    takes ~45 bytes a key this way, against ~450 as records. ``records`` rides along only when
    a --limit may cut the page (the sink then needs the kept part's totals)."""

    data: P
    count: int
    totals: Summary
    records: tuple[Record, ...] | None = None


@dataclass(frozen=True, slots=True)
class PageEvent(Generic[P]):
    """One page, in key order: what to write, where its range continues (``position.done``:
    finished), and what is left to list after it (valid until the next event is taken)."""

    page: Rendered[P]
    position: Position
    remaining: Callable[[], list[Pending]]


Source = Generator[PageEvent[P], None, None]
Pack = Callable[[list[Record]], Rendered[P]]
"""``pack(records of one page) -> Rendered``: filter, total, render (see :func:`packer`)."""


def select(records: list[Record], predicate: Predicate) -> list[Record]:
    """The records ``predicate`` keeps; without filters (``keep_all``, the common case) no call
    per record, which is a tenth of the client's CPU per key."""
    if predicate is keep_all:
        return records
    return [record for record in records if predicate(record)]


def packer(render: Render[P], predicate: Predicate, *, keep_records: bool) -> Pack[P]:
    """``pack(records of one page) -> Rendered``: filter, total, render (thread-safe)."""

    def pack(records: list[Record]) -> Rendered[P]:
        kept = select(records, predicate)
        totals = Summary()
        totals.add_many(kept)
        return Rendered(render(kept), len(kept), totals, tuple(kept) if keep_records else None)

    return pack


def chained(todo: Sequence[Pending]) -> list[Pending]:
    """Consecutive fresh ranges that touch merged into one, so one listing runs through them
    (a boundary between two ranges otherwise costs a request)."""
    merged: list[Pending] = []
    for key_range, position in todo:
        if merged and position is None and merged[-1][1] is None:
            last = merged[-1][0]
            if last.end_before is not None and last.end_before == successor(key_range.start_after):
                merged[-1] = (KeyRange(last.start_after, key_range.end_before), None)
                continue
        merged.append((key_range, position))
    return merged


def sequential(
    list_range: ListRange, todo: Sequence[Pending], pack: Pack[P]
) -> Source[P]:
    """The ranges one after another in this thread: one request at a time."""
    todo = chained(todo)
    for index, (key_range, start) in enumerate(todo):
        rest = list(todo[index + 1 :])
        for page, after in list_range(key_range, start, None):
            left = rest if after.done else [(key_range, after), *rest]
            yield PageEvent(pack(page.records), after, partial(list, left))


def parallel(
    list_range: ListRange,
    todo: Sequence[Pending],
    pack: Pack[P],
    *,
    workers: int,
    prefix: str,
    delimiter: str,
    pages_ahead: int,
    join_workers: bool = False,
) -> Source[P]:
    """The ranges listed by ``workers`` threads (split while they run), merged back in key
    order by the ParallelLister; pages are packed in the worker that listed them. Closed
    half way, it abandons the workers' requests in flight (the CLI exits at once), unless
    ``join_workers``: then it waits for them to end (the Python API hands its caller's
    process back without extra threads)."""
    lister = ParallelLister(
        list_range,
        [r for r, _ in todo],
        positions=[p for _, p in todo],
        workers=workers,
        prefix=prefix,
        delimiter=delimiter,
        pack=pack,
        max_pages_ahead=pages_ahead,
    )
    try:
        for event in lister:
            yield PageEvent(event.page, event.position, lister.remaining)
    finally:  # wait for the workers only after a complete listing; otherwise abandon them
        lister.close(wait=join_workers or sys.exc_info()[0] is None)
