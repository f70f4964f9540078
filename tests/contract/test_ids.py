"""The IdSource port's contract, on RunScopedIds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.adapters.ids import RunScopedIds
from aitrader.ports.clock import IdSource

SEQS = st.integers(1, 10**9)


def test_each_instance_has_its_own_run_id() -> None:
    run_ids = {RunScopedIds().run_id() for _ in range(2_000)}
    assert len(run_ids) == 2_000


def test_a_run_id_is_stable_for_the_life_of_its_source() -> None:
    ids: IdSource = RunScopedIds()
    assert ids.run_id() == ids.run_id()
    assert ids.run_id().strip()


def test_a_given_run_id_is_kept() -> None:
    assert RunScopedIds("run-7").run_id() == "run-7"


@given(seq=SEQS)
def test_a_client_order_id_is_determined_by_the_run_id_and_the_seq(seq: int) -> None:
    run_id = RunScopedIds().run_id()
    first, again = RunScopedIds(run_id), RunScopedIds(run_id)
    assert first.client_order_id(seq) == again.client_order_id(seq)
    assert first.client_order_id(seq) == first.client_order_id(seq)


@settings(max_examples=50)
@given(seqs=st.sets(SEQS, min_size=2, max_size=200))
def test_different_seqs_give_different_client_order_ids(seqs: set[int]) -> None:
    ids = RunScopedIds()
    assert len({ids.client_order_id(seq) for seq in seqs}) == len(seqs)


@given(seq=SEQS)
def test_client_order_ids_of_different_runs_never_collide(seq: int) -> None:
    one, other = RunScopedIds(), RunScopedIds()
    assert one.client_order_id(seq) != other.client_order_id(seq)
    assert one.client_order_id(seq).startswith(one.run_id())


def test_the_first_thousand_ids_sort_in_submission_order() -> None:
    ids = RunScopedIds()
    issued = [ids.client_order_id(seq) for seq in range(1, 1_001)]
    assert issued == sorted(issued)


@pytest.mark.parametrize("seq", [0, -1, -(10**9)])
def test_a_seq_below_one_is_refused(seq: int) -> None:
    with pytest.raises(ValueError, match="start at 1"):
        RunScopedIds().client_order_id(seq)
