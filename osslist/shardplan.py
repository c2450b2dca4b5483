"""A shard plan: cuts found once from the bucket, written to a file, shared by every pod.

The fixed shard rule (``ranges.shard_ranges``) needs no file but leaves shards as uneven as
the keys' first characters. ``osslist plan`` instead measures the bucket once
(:func:`balanced_cuts`: leaf folders weighed by their first pages, or sampled quantiles for
flat keys) and writes a :class:`ShardPlan`; every pod reads the same file, so the shards stay
disjoint and complete whatever changes in the bucket, and are about even.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from osslist.planning import Folders, Probe, folder_lister, listing_probe, plan_folder_cuts, quantile_points, survey
from osslist.ranges import MAX_CUT_CHARS, KeyRange, clean_cut, shard_ranges

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
        end, count, cuts = data.get("end_before"), data.get("shard_count"), data.get("cuts")
        if not all(isinstance(t, str) for t in texts) or not (end is None or isinstance(end, str)):
            raise ValueError("bucket, prefix, start_after and end_before must be strings")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("shard_count must be a positive integer")
        if not isinstance(cuts, list) or not all(isinstance(c, str) and len(c) <= MAX_CUT_CHARS for c in cuts):
            raise ValueError(f"cuts must be a list of strings of at most {MAX_CUT_CHARS} characters")
        whole = KeyRange(texts[2], end)
        if cuts != sorted(set(cuts)) or not all(whole.contains(c) for c in cuts):
            raise ValueError("cuts must increase strictly and lie between start_after and end_before")
        return cls(bucket=texts[0], prefix=texts[1], start_after=texts[2], end_before=end,
                   shard_count=count, cuts=tuple(cuts))

    def ranges(self, index: int, *, delimiter: str = "") -> list[KeyRange]:
        """The ranges shard ``index`` lists. With a delimiter the cuts are cleaned first (the
        same way in every pod), so no common prefix straddles two shards."""
        cuts = [clean_cut(c, prefix=self.prefix, delimiter=delimiter) for c in self.cuts]
        return shard_ranges(index=index, count=self.shard_count, prefix=self.prefix, delimiter=delimiter,
                            start_after=self.start_after, end_before=self.end_before, cuts=cuts)


def balanced_cuts(
    client: Any, spec: Any, *, count: int, workers: int = 8,
    probe: Probe | None = None, folders: Folders | None = None,
) -> tuple[list[str], list[float]]:
    """``count - 1`` cuts splitting the spec's keys into ``count`` about equal shards, and the
    estimated keys of each shard. A tree (at least one leaf folder per shard) is cut at leaf
    folders weighed by their first pages, so a shard is at best as even as whole folders
    allow; flat keys at quantiles of sampled pages. A few dozen requests, ``workers`` at a
    time; the estimates are estimates, the cuts exact whatever they say."""
    probe = probe or listing_probe(client, spec)
    whole = KeyRange(spec.start_after, spec.end_before)
    if count <= 1:
        return _sampled_cuts(probe, whole, count=1, workers=workers)
    leaves = plan_folder_cuts(folders or folder_lister(client, spec), prefix=spec.prefix,
                              target=4 * count, workers=workers)
    leaves = [leaf for leaf in leaves if whole.contains(leaf)]
    if len(leaves) >= count:
        return _leaf_cuts(probe, leaves, start_after=spec.start_after, count=count, workers=workers)
    return _sampled_cuts(probe, whole, count=count, workers=workers)


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


def _sampled_cuts(probe: Probe, whole: KeyRange, *, count: int, workers: int) -> tuple[list[str], list[float]]:
    """Flat keys: quantiles of the sampling planner; a listing of one page is cut exactly."""
    keys, truncated = probe(whole.start_after)
    if not truncated:
        picks = sorted({len(keys) * q // count for q in range(1, count)} - {0})
        bounds = [0, *picks, len(keys)]
        return [keys[i - 1] for i in picks], [float(hi - lo) for lo, hi in zip(bounds, bounds[1:])]
    samples = survey(probe, keys, whole=whole, target=max(count, 8), workers=workers)
    points, total = quantile_points(samples, target=count)
    upto = {key: acc for key, acc in points if whole.contains(key)}
    cuts = sorted(upto)
    bounds = [0.0, *(upto[key] for key in cuts), total]
    return cuts, [hi - lo for lo, hi in zip(bounds, bounds[1:])]
