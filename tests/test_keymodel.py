"""The key model (osslist.keymodel): keys read as numbers, cuts guessed a few pages ahead."""

from __future__ import annotations

from osslist.keymodel import KeyModel, piece_cuts
from osslist.ranges import KeyRange
from tests.helpers import flat_keys

def test_key_model_counts_decimal_positions_in_base_10() -> None:
    sample = [f"obj-{i:07d}" for i in range(1000)]
    model = KeyModel(sample)
    assert model.to_key(model.to_number("obj-0000999") + 999) == "obj-0001998"


def test_piece_cuts_land_on_page_boundaries_of_numbered_keys() -> None:
    """One page of ``obj-NNNNNNN`` predicts the last key of each following page exactly."""
    keys = flat_keys(10_000)
    page = keys[1000:2000]
    cuts = piece_cuts(page, after=page[-1], within=KeyRange(page[-1], None), pages=3, steps=2)
    assert cuts == [keys[4999], keys[7999]]


def test_piece_cuts_leave_no_sliver_before_the_end() -> None:
    keys = flat_keys(10_000)
    page = keys[:1000]
    end = keys[4200]  # 2.2 pieces of 1000 keys after the page: the third would be a sliver
    cuts = piece_cuts(page, after=page[-1], within=KeyRange(page[-1], end), pages=1, steps=5)
    assert cuts == [keys[1999], keys[2999]]
