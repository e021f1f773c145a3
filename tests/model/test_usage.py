"""Usage: summing responses' token counts and surviving a JSON round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai._models import construct_type
from openai.types.responses import ResponseUsage

from agentkit.model import Usage


def response_usage(
    input_tokens: int, output_tokens: int, *, cached: int = 0, reasoning: int = 0
) -> ResponseUsage:
    return ResponseUsage.model_validate(
        {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": input_tokens + output_tokens,
        }
    )


def test_add_counts_requests_and_tokens() -> None:
    usage = Usage()

    usage.add(response_usage(100, 20, cached=64, reasoning=12))
    usage.add(response_usage(150, 30, cached=128, reasoning=0))

    assert usage == Usage(
        requests=2,
        input_tokens=250,
        output_tokens=50,
        total_tokens=300,
        cached_tokens=192,
        reasoning_tokens=12,
    )


def test_a_response_without_usage_still_counts_as_a_request() -> None:
    usage = Usage()

    usage.add(None)

    assert usage == Usage(requests=1)


def test_missing_details_count_as_zero() -> None:
    """Responses are parsed leniently; a service may leave the details out."""
    lenient = construct_type(
        type_=ResponseUsage, value={"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
    )
    assert isinstance(lenient, ResponseUsage)
    usage = Usage()

    usage.add(lenient)

    assert usage == Usage(requests=1, input_tokens=5, output_tokens=2, total_tokens=7)


def test_plus_sums_every_counter_without_mutating() -> None:
    a = Usage(1, 10, 2, 12, 3, 1)
    b = Usage(2, 100, 20, 120, 30, 10)

    assert a + b == Usage(3, 110, 22, 132, 33, 11)
    assert a == Usage(1, 10, 2, 12, 3, 1)


def test_plus_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        Usage() + 1  # type: ignore[operator]


def test_json_round_trip() -> None:
    usage = Usage(3, 110, 22, 132, 33, 11)

    data = json.loads(json.dumps(usage.to_dict()))

    assert data == {
        "requests": 3,
        "input_tokens": 110,
        "output_tokens": 22,
        "total_tokens": 132,
        "cached_tokens": 33,
        "reasoning_tokens": 11,
    }
    assert Usage.from_dict(data) == usage


def test_from_dict_fills_missing_counters_and_ignores_unknown_ones() -> None:
    assert Usage.from_dict({"requests": 2, "future_counter": 9}) == Usage(requests=2)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True, None])
def test_from_dict_rejects_non_counts(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"Usage\.input_tokens"):
        Usage.from_dict({"input_tokens": bad})
