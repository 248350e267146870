import numpy as np
import pandas as pd
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


@settings(max_examples=60, deadline=None)
@given(values=keys)
def test_grouped_is_pd_factorize_sorted(values):
    array = np.array(values, dtype=np.int64)
    positions, distinct = codes.grouped(array)
    expected_positions, expected_distinct = pd.factorize(array, sort=True)
    assert np.array_equal(positions, expected_positions)
    assert np.array_equal(distinct, expected_distinct)


def test_empty_inputs():
    empty = np.array([], dtype=np.int64)
    assert codes.distinct(empty).size == 0
    assert not codes.member(np.array([1, 2]), empty).any()
    assert codes.member(empty, np.array([1])).size == 0
    assert all(part.size == 0 for part in codes.grouped(empty))


ids = st.lists(st.one_of(st.none(), st.sampled_from(["c1", "c10", "c2", "a", "b"])), max_size=40)


@settings(max_examples=60, deadline=None)
@given(values=ids, sort=st.booleans())
def test_encode_a_categorical_column_as_pd_factorize_does_the_strings(values, sort):
    plain = pd.Series(values, dtype="str")
    expected_codes, expected = pd.factorize(plain, sort=sort)
    for column in (plain, plain.astype("category")):
        found_codes, found = codes.encode(column, sort=sort)
        assert np.array_equal(found_codes, expected_codes)
        assert list(found) == list(expected)


@settings(max_examples=40, deadline=None)
@given(left=ids, right=ids)
def test_encode_together_gives_equal_values_equal_sorted_codes(left, right):
    a, b = pd.Series(left, dtype="str"), pd.Series(right, dtype="str").astype("category")
    (left_codes, right_codes), uniques = codes.encode_together(a, b)
    assert list(uniques) == sorted(set(a.dropna()) | set(b.dropna()))
    for column, found in ((a, left_codes), (b, right_codes)):
        decoded = [uniques[c] if c >= 0 else None for c in found]
        assert decoded == [None if pd.isna(v) else v for v in column]


names = st.lists(st.sampled_from(["c1", "c10", "c2", "a", "b", "é"]), max_size=30)


@settings(max_examples=60, deadline=None)
@given(keys=names, ids=names)
def test_by_id_is_series_map(keys, ids):
    ids = list(dict.fromkeys(ids))  # distinct, as an index to map by
    keys = pd.Series(keys, dtype=object)
    numbers = np.arange(len(ids), dtype=float) / 2
    texts = np.array([f"value of {i}" for i in ids], dtype=object)
    for values in (numbers, texts):
        expected = keys.map(pd.Series(values, index=pd.Index(ids, dtype=object)))
        got = codes.by_id(keys, pd.Index(ids, dtype=object), values)
        assert pd.Series(got, dtype=object).isna().tolist() == expected.isna().tolist()
        found = expected.notna().to_numpy()
        assert got[found].tolist() == expected[found].tolist()
    assert codes.positions(keys, pd.Index(ids, dtype=object)).tolist() == [
        ids.index(k) if k in ids else -1 for k in keys
    ]
