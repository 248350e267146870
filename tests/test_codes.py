import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core import codes

keys = st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=200)


@settings(max_examples=60, deadline=None)
@given(values=keys)
def test_distinct_is_numpy_unique(values):
    array = np.array(values, dtype=np.int64)
    assert np.array_equal(codes.distinct(array), np.unique(array))


@settings(max_examples=60, deadline=None)
@given(values=keys, allowed=keys)
def test_member_is_numpy_isin(values, allowed):
    a, b = np.array(values, dtype=np.int64), np.array(allowed, dtype=np.int64)
    assert np.array_equal(codes.member(a, b), np.isin(a, b))


def test_empty_inputs():
    empty = np.array([], dtype=np.int64)
    assert codes.distinct(empty).size == 0
    assert not codes.member(np.array([1, 2]), empty).any()
    assert codes.member(empty, np.array([1])).size == 0
