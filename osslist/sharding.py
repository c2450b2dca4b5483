"""Which key ranges a run lists: decided here, once, before listing starts.

Every pod of a sharded run must agree on its ranges without talking to the others, and a key
added or deleted while they run must not move a boundary. Two ways to get there:

- the **fixed shard rule** (``--shard-index I --shard-count N``): :func:`shard_ranges` cuts the
  space after ``prefix + c`` for each character ``c`` of a fixed table (about one cell per
  leading character) and deals the cells round-robin, so hashed, numbered and named keys all
  spread over every shard. No file, but shards are as uneven as the keys' first characters;
- a **shard plan** (``--shard-plan FILE``): ``osslist plan`` measures the bucket once
  (:func:`make_shard_plan`: leaf folders weighed by their first pages, or sampled quantiles for
  flat keys) and writes a :class:`ShardPlan`; every pod reads the same file
  (:func:`checked_shard_plan` refuses one made for another listing), so the shards stay
  disjoint and complete whatever changes in the bucket, and are about even.

:func:`run_ranges` turns either (or no sharding) into the ranges of this run; for a fresh
parallel run :func:`spread_ranges` cuts before the folders of a tree so the workers start
spread out. "Plan" in osslist means the shard plan and nothing else. Any cut list that is the
same for every pod keeps the shards exact (see ``ranges``); the plan's cuts only make them even.
Functions that take a client send requests (probes, folder listings); the others are pure.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

from osslist.errors import UsageError
from osslist.keymodel import KeyModel
from osslist.listing import ListingSpec, PageSource, iter_pages
from osslist.pages import PrefixRecord, record_name
from osslist.ranges import MAX_CUT_CHARS, KeyRange, clean_cut, ranges_from_cuts

# --- the fixed shard rule: every pod computes it alike ---------------------------------------

SHARD_TABLE = "-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
"""Characters after which the fixed shard rule cuts; changing it changes every shard."""



def shard_cuts(*, prefix: str = "", delimiter: str = "") -> list[str]:
    """The fixed cuts of the shard rule: after ``prefix + c`` for each ``c`` of SHARD_TABLE.

    A cut that would hold the delimiter is dropped (that cell merges into its neighbour)."""
    cuts = [prefix + c for c in SHARD_TABLE]
    return [c for c in cuts if clean_cut(c, prefix=prefix, delimiter=delimiter) == c]


def shard_ranges(
    *,
    index: int,
    count: int,
    prefix: str = "",
    delimiter: str = "",
    start_after: str = "",
    end_before: str | None = None,
    cuts: Sequence[str] | None = None,
) -> list[KeyRange]:
    """The ranges shard ``index`` of ``count`` lists, in key order.

    The cells between consecutive cuts (``cuts`` from a shared plan, else :func:`shard_cuts`)
    are dealt round-robin: cell ``j`` goes to shard ``j % count``. Cells depend only on the
    arguments, never on the bucket, so the shards are disjoint and their union is the whole
    listing whatever is added or deleted while they run."""
    if count < 1 or not 0 <= index < count:
        raise ValueError("shard index must be in 0..count-1")
    table = shard_cuts(prefix=prefix, delimiter=delimiter) if cuts is None else cuts
    cells = ranges_from_cuts(table, start_after=start_after, end_before=end_before)
    return [cell for j, cell in enumerate(cells) if j % count == index]


# --- the shard plan file -------------------------------------------------------------------

PLAN_VERSION = 1
LEAF_PROBES = 24
"""First pages read to weigh the leaf folders of a tree (the rest take a probed neighbour's)."""


@dataclass(frozen=True, kw_only=True)
class ShardPlan:
    """The cuts every pod of a sharded run shares, and the listing they were made for.

    Cell ``j`` between consecutive cuts goes to shard ``j % shard_count`` (as for the rule);
    ``osslist plan`` writes ``shard_count - 1`` cuts, so each shard is one contiguous range and
    the shards' outputs, concatenated in index order, are the sorted listing. The cuts are in
    the file, not in the bucket, so whatever changes in the bucket the shards stay exact."""

    bucket: str
    prefix: str = ""
    start_after: str = ""
    end_before: str | None = None
    shard_count: int
    cuts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The plan file's content."""
        return {"version": PLAN_VERSION, "bucket": self.bucket, "prefix": self.prefix,
                "start_after": self.start_after, "end_before": self.end_before,
                "shard_count": self.shard_count, "cuts": list(self.cuts)}

    @classmethod
    def from_json(cls, data: Any) -> ShardPlan:
        """Parse and check a plan file's content; ValueError says what is wrong."""
        if not isinstance(data, dict) or data.get("version") != PLAN_VERSION:
            raise ValueError(f"not a version {PLAN_VERSION} shard plan")
        texts = [data.get(name) for name in ("bucket", "prefix", "start_after")]
        strings = [t for t in texts if isinstance(t, str)]
        end, count, cuts = data.get("end_before"), data.get("shard_count"), data.get("cuts")
        if len(strings) != len(texts) or not (end is None or isinstance(end, str)):
            raise ValueError("bucket, prefix, start_after and end_before must be strings")
        bucket, prefix, start_after = strings
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("shard_count must be a positive integer")
        if not isinstance(cuts, list) or not all(isinstance(c, str) and len(c) <= MAX_CUT_CHARS for c in cuts):
            raise ValueError(f"cuts must be a list of strings of at most {MAX_CUT_CHARS} characters")
        whole = KeyRange(start_after, end)
        if cuts != sorted(set(cuts)) or not all(whole.contains(c) for c in cuts):
            raise ValueError("cuts must increase strictly and lie between start_after and end_before")
        return cls(bucket=bucket, prefix=prefix, start_after=start_after, end_before=end,
                   shard_count=count, cuts=tuple(cuts))

    def ranges(self, index: int, *, delimiter: str = "") -> list[KeyRange]:
        """The ranges shard ``index`` lists. With a delimiter the cuts are cleaned first (the
        same way in every pod), so no common prefix straddles two shards."""
        cuts = [clean_cut(c, prefix=self.prefix, delimiter=delimiter) for c in self.cuts]
        return shard_ranges(index=index, count=self.shard_count, prefix=self.prefix, delimiter=delimiter,
                            start_after=self.start_after, end_before=self.end_before, cuts=cuts)


def load_shard_plan(path: str) -> ShardPlan:
    """Read a plan file written by `osslist plan`; a missing or corrupt one is bad input."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(1 << 20))
        return ShardPlan.from_json(data)
    except OSError as exc:
        raise UsageError(f"cannot read --shard-plan {path}: {exc.strerror}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"--shard-plan {path} is not a valid plan ({_first_line(exc)}); rerun osslist plan") from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def checked_shard_plan(
    path: str, *, bucket: str, spec: ListingSpec, shard_index: int, shard_count: int | None
) -> ShardPlan:
    """The plan of --shard-plan, checked against this command line: a plan made for another
    bucket, prefix or range would shard the wrong key space, so it is refused (exit 2)."""
    shards = load_shard_plan(path)
    made_for = {"bucket": shards.bucket, "prefix": shards.prefix, "start-after": shards.start_after,
                "end-before": shards.end_before}
    given = {"bucket": bucket, "prefix": spec.prefix, "start-after": spec.start_after,
             "end-before": spec.end_before}
    for name, value in made_for.items():
        if given[name] != value:
            raise UsageError(f"--shard-plan {path} was made for --{name} {value!r}, not {given[name]!r}")
    if shard_count is not None and shard_count != shards.shard_count:
        raise UsageError(f"--shard-count {shard_count} differs from the plan's {shards.shard_count} shards")
    if not shard_index < shards.shard_count:
        raise UsageError(f"--shard-index must be in 0..{shards.shard_count - 1} (the plan has {shards.shard_count})")
    return shards


# --- the ranges of one run ---------------------------------------------------------------


def run_ranges(
    spec: ListingSpec, *, shard_index: int | None, shard_count: int | None, shard_plan: ShardPlan | None
) -> list[KeyRange]:
    """The key ranges a run lists, in key order: this shard's cells (from the plan when there
    is one, else the fixed rule), or the whole range."""
    if shard_plan is not None and shard_index is not None:
        return shard_plan.ranges(shard_index, delimiter=spec.delimiter)
    if shard_count is None or shard_index is None:
        return [KeyRange(spec.start_after, spec.end_before)]
    return shard_ranges(index=shard_index, count=shard_count, prefix=spec.prefix, delimiter=spec.delimiter,
                        start_after=spec.start_after, end_before=spec.end_before)


def spread_ranges(client: PageSource, spec: ListingSpec, ranges: list[KeyRange], *, workers: int) -> list[KeyRange]:
    """A fresh run of one range with spare workers and no delimiter: cut before each folder
    of the tree (a few concurrent delimiter requests) so the workers start spread out at
    once; the parallel lister cuts big folders further while it runs. Otherwise as given."""
    if workers < 2 or len(ranges) != 1 or spec.delimiter:
        return ranges
    whole = ranges[0]
    cuts = plan_folder_cuts(folder_lister(client, spec), prefix=spec.prefix, target=8 * workers, workers=workers)
    return ranges_from_cuts(cuts, start_after=whole.start_after, end_before=whole.end_before)


# --- cuts from the bucket: samples and folders (these send requests) ------------------------

Probe = Callable[[str], tuple[list[str], bool]]
"""``probe(start_after) -> (keys of one page after it, is_truncated)`` within the spec."""

Folders = Callable[[str], list[str]]
"""``folders(prefix) -> the common prefixes ("sub/") directly under prefix`` (one request)."""


def folder_lister(client: PageSource, spec: ListingSpec) -> Folders:
    """``folders(prefix)`` over the real listing: one delimiter "/" page, its common prefixes."""

    def folders(prefix: str) -> list[str]:
        one = replace(spec, prefix=prefix, delimiter="/", start_after="", end_before=None, max_keys=1000)
        for page, _position in iter_pages(client, one):
            return [r.prefix for r in page.records if isinstance(r, PrefixRecord)]
        return []

    return folders


def listing_probe(client: PageSource, spec: ListingSpec) -> Probe:
    """A probe over the real listing: the first page after a marker, keys and prefixes."""

    def probe(start_after: str) -> tuple[list[str], bool]:
        one = replace(spec, start_after=start_after, max_keys=1000)
        for page, _position in iter_pages(client, one):
            return [record_name(r) for r in page.records], page.is_truncated
        return [], False

    return probe


@dataclass(frozen=True)
class Sample:
    """One page read by the planner: its keys (contiguous in the listing), whether more keys
    follow it, and whether it starts right after the previous sample's last key."""

    keys: list[str]
    truncated: bool
    follows: bool = False


def survey(
    probe: Probe, first: list[str], *, whole: KeyRange, target: int, workers: int, walked: list[Sample] | None = None
) -> list[Sample]:
    """Pages sampled across the key space past ``first`` (the pages ``walked`` from the start,
    if given): the end is found by probing ahead, then ``2 * target`` pages at even steps of
    the key model between the first key and the end. Returned merged and in key order
    (``merged_samples``)."""
    model = KeyModel(first)
    base = model.to_number(first[0])
    samples = list(walked) if walked else [Sample(first, True)]
    top = _find_end(probe, model, base, max(model.to_number(first[-1]) - base, 1), whole, samples)
    span = max(top - base, 1)
    markers = []
    for i in range(1, 2 * target):
        marker = model.to_key(base + span * i // (2 * target))
        if marker is not None and whole.contains(marker) and marker > first[-1]:
            markers.append(marker)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for keys, truncated in pool.map(probe, sorted(set(markers))):
            samples.append(Sample(keys, truncated))
    return merged_samples(samples)


def merged_samples(samples: Sequence[Sample]) -> list[Sample]:
    """Samples in key order with overlapping or following pages joined into one run of
    contiguous keys, so no key is counted twice and no gap is guessed where there is none."""
    runs: list[Sample] = []
    for sample in sorted((s for s in samples if s.keys), key=lambda s: (s.keys[0], not s.follows)):
        last = runs[-1] if runs else None
        if last is not None and (sample.follows or sample.keys[0] <= last.keys[-1]):
            extra = [k for k in sample.keys if k > last.keys[-1]]
            runs[-1] = Sample(last.keys + extra, sample.truncated if extra else last.truncated, last.follows)
        else:
            runs.append(Sample(sample.keys, sample.truncated))
    return runs


def _find_end(
    probe: Probe, model: KeyModel, base: int, stride: int, whole: KeyRange, samples: list[Sample]
) -> int:
    """The model number of (about) the last key: probes 8, 64, 512 ... pages ahead until one
    comes back empty, then bisection between the last page seen and that empty probe."""
    low, high = model.to_number(samples[0].keys[-1]), None
    jump = stride
    for _ in range(64):
        if high is not None and high - low <= stride:
            return high
        at = base + jump * 8 if high is None else (low + high) // 2
        marker = model.to_key(at)
        if marker is None or not whole.contains(marker):
            high = at  # past the model's widest key or the range's end: look below
            continue
        keys, truncated = probe(marker)
        if keys:
            samples.append(Sample(keys, truncated))
        if keys and not truncated:
            return model.to_number(keys[-1])
        if keys:
            low, jump = model.to_number(keys[-1]), at - base
        else:
            high = at
    return low


def quantile_cuts(samples: list[Sample], *, whole: KeyRange, count: int) -> tuple[list[str], list[float]]:
    """``count - 1`` cuts at quantiles of the estimated keys, and each shard's estimate.

    Each run of sampled keys counts exactly; the keys in the gap after a truncated run are
    estimated from the densities (keys per unit of the key model) of the runs on both sides.
    A quantile inside a run cuts at its key; inside a gap, at the key model's key at that
    fraction of the gap (or at the run's edge when the model has no key there). One pass over
    the quantiles and the pieces: O(shards + sampled keys)."""
    model = KeyModel(sorted({k for s in samples for k in s.keys}))
    pieces = _pieces(samples, model)
    total = sum(size for _kind, size, _data in pieces)
    cuts: list[str] = []
    upto: list[float] = []
    index, start = 0, 0.0
    for q in range(1, count):
        goal = total * q / count
        while index < len(pieces) - 1 and start + pieces[index][1] < goal:
            start += pieces[index][1]
            index += 1
        cut, at = _cut_in(pieces[index], goal - start, model)
        if cut is not None and whole.contains(cut) and (not cuts or cut > cuts[-1]):
            cuts.append(cut)
            upto.append(start + at)
    bounds = [0.0, *upto, total]
    return cuts, [hi - lo for lo, hi in zip(bounds, bounds[1:])]


Piece = tuple[str, float, Any]
"""``("run", keys, Sample)`` or ``("gap", estimated keys, (after, before))`` in key order."""


def _pieces(samples: list[Sample], model: KeyModel) -> list[Piece]:
    """The runs and the estimated gaps between them, in key order."""
    density = [len(s.keys) / max(model.to_number(s.keys[-1]) - model.to_number(s.keys[0]), 1) for s in samples]
    pieces: list[Piece] = []
    for i, sample in enumerate(samples):
        pieces.append(("run", float(len(sample.keys)), sample))
        if sample.truncated and i + 1 < len(samples):
            after, before = sample.keys[-1], samples[i + 1].keys[0]
            width = max(model.to_number(before) - model.to_number(after) - 1, 0)
            pieces.append(("gap", width * (density[i] + density[i + 1]) / 2, (after, before)))
    return pieces


def _cut_in(piece: Piece, offset: float, model: KeyModel) -> tuple[str | None, float]:
    """The cut ``offset`` keys into ``piece``, and how many keys of the piece sort up to it."""
    kind, size, data = piece
    if kind == "run":
        keys = data.keys
        index = min(max(int(-(-offset // 1)) - 1, 0), len(keys) - 1)  # ceil(offset) - 1, clamped
        return keys[index], float(index + 1)
    after, before = data
    low, high = model.to_number(after), model.to_number(before)
    key = model.to_key(low + int((high - low) * offset / max(size, 1e-9)))
    if key is not None and after < key < before:
        return key, offset
    return after, 0.0


# --- planning from the folder tree (cheap, concurrent) -----------------------------------------


def plan_folder_cuts(folders: Folders, *, prefix: str, target: int, workers: int = 8, depth: int = 4) -> list[str]:
    """Cuts before each folder of the tree under ``prefix``, expanded a level at a time (each
    level's requests run concurrently) until there are ``target`` folders or no deeper ones.

    A folder is never empty, so a range starting at one always holds keys; a listing runs on
    from one folder into the next at no cost, so small folders cost nothing. The folder name
    itself is the cut: keys of the folder sort after it, everything before it at or below."""
    level, leaves = [prefix], {prefix}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for _ in range(depth):
            children: list[str] = []
            for folder, sub in zip(level, pool.map(folders, level)):
                if sub:  # a folder with subfolders is replaced by them
                    leaves.discard(folder)
                    children += sub
            leaves.update(children)
            if not children or len(leaves) >= target or len(children) > max(4 * workers, 64):
                break
            level = sorted(children)
    return sorted(f for f in leaves if f > prefix)


MAX_SHARD_COUNT = 10_000
"""The most shards `osslist plan` plans: a plan file of 10,000 cuts is a few hundred KB (a
ConfigMap holds 1 MiB), and 10,000 pods of one Indexed Job is already far past what a listing
of one bucket can use (OSS answers about 10,000 requests a second per account)."""
WALK_PAGES = 8
"""Pages the planner reads in order from the start before it samples: a range that ends
within them (up to 8,000 keys) is cut exactly, with exact counts, from its whole listing."""
SAMPLE_PAGES = 40
"""Most pages a survey of a bigger flat range reads (its cost does not grow with shards)."""


def check_shard_count(count: int) -> None:
    """1..MAX_SHARD_COUNT, else UsageError (exit 2) naming the limit."""
    if not 1 <= count <= MAX_SHARD_COUNT:
        raise UsageError(f"invalid --shard-count {count}: a plan has 1 to {MAX_SHARD_COUNT:,} shards")


def balanced_cuts(
    client: PageSource, spec: ListingSpec, *, count: int, workers: int = 8,
    probe: Probe | None = None, folders: Folders | None = None,
) -> tuple[list[str], list[float]]:
    """``count - 1`` cuts splitting the spec's keys into ``count`` about equal shards (fewer
    only when there are fewer keys than shards), and the estimated keys of each shard. The
    first WALK_PAGES pages are read in order: a range that ends there is cut exactly. A
    bigger tree (at least one leaf folder per shard) is cut at leaf folders weighed by their
    first pages; flat keys at quantiles of at most SAMPLE_PAGES sampled pages. The cost is
    O(shards + pages read); the estimates are estimates, the cuts exact whatever they say."""
    check_shard_count(count)
    probe = probe or listing_probe(client, spec)
    whole = KeyRange(spec.start_after, spec.end_before)
    walked = _walk(probe, whole.start_after, pages=WALK_PAGES)
    if not walked[-1].truncated:
        return exact_cuts([k for sample in walked for k in sample.keys], count=count)
    leaves = plan_folder_cuts(folders or folder_lister(client, spec), prefix=spec.prefix,
                              target=max(4 * count, LEAF_PROBES), workers=workers)
    leaves = [leaf for leaf in leaves if whole.contains(leaf)]
    if len(leaves) >= max(count, 2):
        return _leaf_cuts(probe, leaves, start_after=spec.start_after, count=count, workers=workers)
    if len(leaves) >= 2:
        return _cuts_within_leaves(probe, leaves, whole, count=count, workers=workers)
    return _sampled_cuts(probe, walked, whole, count=count, workers=workers)


def _cuts_within_leaves(
    probe: Probe, leaves: list[str], whole: KeyRange, *, count: int, workers: int
) -> tuple[list[str], list[float]]:
    """A tree with fewer leaf folders than shards: the first page of every leaf (one request
    per leaf, fewer than the shards) and the keys before the first, cut at quantiles of the
    keys read. Exact for leaves of at most one page; a bigger leaf weighs the keys of its
    first page (the rest of it falls in the shard holding its last key read)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pages = list(pool.map(probe, [whole.start_after, *leaves]))
    runs = []
    for before, (keys, _truncated) in zip([*leaves, None], pages):
        inside = [k for k in keys if before is None or k <= before]  # the cell (after, before]
        if inside:
            runs.append(Sample(inside, False))
    return quantile_cuts(merged_samples(runs), whole=whole, count=count)


def _walk(probe: Probe, start_after: str, *, pages: int) -> list[Sample]:
    """Up to ``pages`` pages in order from ``start_after``; each follows the one before."""
    walked: list[Sample] = []
    marker = start_after
    for _ in range(pages):
        keys, truncated = probe(marker)
        walked.append(Sample(keys, truncated and bool(keys), follows=bool(walked)))
        if not walked[-1].truncated:
            break
        marker = keys[-1]
    return walked


def exact_cuts(keys: Sequence[str], *, count: int) -> tuple[list[str], list[float]]:
    """Cuts from the whole listing: ``count - 1`` of them (one per key when there are fewer
    keys than shards), and the exact number of keys of each shard."""
    picks = sorted({len(keys) * q // count for q in range(1, count)} - {0})
    bounds = [0, *picks, len(keys)]
    return [keys[i - 1] for i in picks], [float(hi - lo) for lo, hi in zip(bounds, bounds[1:])]


def _leaf_cuts(
    probe: Probe, leaves: list[str], *, start_after: str, count: int, workers: int
) -> tuple[list[str], list[float]]:
    """Cuts at leaf folders: cell 0 holds the keys before the first leaf, cell ``j`` those of
    leaf ``j - 1``. A probed leaf weighs the keys of its first page (at most one page: a
    folder bigger than a page counts as one page); the others take the nearest probed
    leaf's weight before them."""
    picks = sorted({round(i * (len(leaves) - 1) / max(LEAF_PROBES - 1, 1)) for i in range(LEAF_PROBES)})
    markers = [start_after] + [leaves[i] for i in picks]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pages = list(pool.map(probe, markers))
    first = pages[0][0]
    weights = [float(sum(1 for k in first if k <= leaves[0]))]
    measured = {i: float(sum(1 for k in keys if k.startswith(leaves[i]))) for i, (keys, _) in zip(picks, pages[1:])}
    current = 0.0
    for i in range(len(leaves)):
        current = measured.get(i, current)
        weights.append(current)
    return _weighted_cuts(leaves, weights, count=count)


def _weighted_cuts(cuts: list[str], weights: list[float], *, count: int) -> tuple[list[str], list[float]]:
    """``count - 1`` of ``cuts`` (cell ``j`` below ``cuts[j]`` weighs ``weights[j]``, the last
    cell ``weights[-1]``) whose running weight is nearest each quantile; the shards' weights."""
    running, total = [], 0.0
    for weight in weights[:-1]:
        total += weight
        running.append(total)
    total += weights[-1]
    chosen: list[int] = []
    for q in range(1, count):
        goal = total * q / count
        best = min(range(len(cuts)), key=lambda j: abs(running[j] - goal))
        chosen.append(max(best, chosen[-1] + 1 if chosen else 0))
    chosen = [j for j in chosen if j < len(cuts)]
    bounds = [0.0] + [running[j] for j in chosen] + [total]
    return [cuts[j] for j in chosen], [hi - lo for lo, hi in zip(bounds, bounds[1:])]


def _sampled_cuts(
    probe: Probe, walked: list[Sample], whole: KeyRange, *, count: int, workers: int
) -> tuple[list[str], list[float]]:
    """Flat keys past the walked pages: at most SAMPLE_PAGES pages surveyed across the range,
    then ``count - 1`` cuts at quantiles of the estimated keys (see ``quantile_cuts``)."""
    first = [k for sample in walked for k in sample.keys]
    budget = max(SAMPLE_PAGES - len(walked), 2)
    samples = survey(probe, first, whole=whole, target=budget // 2, workers=workers, walked=walked)
    return quantile_cuts(samples, whole=whole, count=count)


def make_shard_plan(
    client: PageSource, spec: ListingSpec, *, bucket: str, count: int, workers: int = 8
) -> tuple[ShardPlan, list[float]]:
    """Sample the bucket once and return the plan every pod will share, with the estimated
    keys of each shard (what `osslist plan` writes). More than MAX_SHARD_COUNT shards is a
    UsageError."""
    cuts, estimates = balanced_cuts(client, spec, count=count, workers=workers)
    shards = ShardPlan(bucket=bucket, prefix=spec.prefix, start_after=spec.start_after,
                       end_before=spec.end_before, shard_count=count, cuts=tuple(cuts))
    return shards, estimates
