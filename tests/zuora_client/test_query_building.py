"""Object Query filters, paging parameters and id batching."""

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl

import pytest

from zuora.query import (
    ID_BATCH_SIZE,
    MAX_PAGE_SIZE,
    check_page_size,
    encode_query,
    equals_param,
    id_batches,
    ids_in_param,
    updated_since_params,
)


def test_updated_since_keeps_offset_and_sorts_ascending():
    moment = datetime(2025, 3, 13, 14, 30, 46, 900_000, tzinfo=timezone(timedelta(hours=-7)))

    assert updated_since_params(moment) == [
        ("filter[]", "updateddate.GE:2025-03-13T14:30:46-07:00"),
        ("sort[]", "updateddate.ASC"),
    ]


def test_updated_since_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        updated_since_params(datetime(2025, 1, 1))


def test_encoding_escapes_brackets_plus_and_spaces():
    moment = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    query = encode_query([*updated_since_params(moment), ("filter[]", "name.EQ:a b")])

    assert "filter%5B%5D=updateddate.GE%3A2025-01-01T00%3A00%3A00%2B01%3A00" in query
    assert "a%20b" in query
    assert "+" not in query
    assert parse_qsl(query)[0] == ("filter[]", "updateddate.GE:2025-01-01T00:00:00+01:00")


def test_ids_in_filter():
    assert ids_in_param(["a1", "b2"]) == ("filter[]", "id.IN:[a1,b2]")


def test_equals_filter():
    assert equals_param("accountid", "abc") == ("filter[]", "accountid.EQ:abc")


@pytest.mark.parametrize("bad", ["a,b", "a]", "", "a b", "x:y"])
def test_values_that_would_break_the_filter_syntax_are_refused(bad):
    with pytest.raises(ValueError, match="not a Zuora id"):
        ids_in_param([bad])


def test_batches_are_distinct_and_bounded():
    ids = [f"{n:032x}" for n in range(120)] + ["0" * 32]

    batches = list(id_batches(ids))

    assert [len(batch) for batch in batches] == [ID_BATCH_SIZE, ID_BATCH_SIZE, 20]
    assert sum(batches, ()) == tuple(dict.fromkeys(ids))


def test_a_full_batch_keeps_the_url_small():
    batch = [f"{n:032x}" for n in range(ID_BATCH_SIZE)]

    query = encode_query([("pageSize", "50"), ("fields[]", "id"), ids_in_param(batch)])

    assert len("https://rest.na.zuora.com/object-query/accounts?" + query) < 2_500


@pytest.mark.parametrize("size", [0, MAX_PAGE_SIZE + 1, -1])
def test_page_size_outside_the_range_is_refused(size):
    with pytest.raises(ValueError, match="page_size"):
        check_page_size(size)


def test_page_size_within_range():
    assert check_page_size(MAX_PAGE_SIZE) == 50
    assert check_page_size(1) == 1


def test_utc_filter_time():
    (filter_param, _) = updated_since_params(datetime(2025, 1, 1, tzinfo=UTC))

    assert filter_param[1] == "updateddate.GE:2025-01-01T00:00:00+00:00"
