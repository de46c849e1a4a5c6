"""AdaptiveConcurrency: how many requests an OpenAI-compatible client keeps in flight as an endpoint pushes back."""

from __future__ import annotations

from resources.openai_compat import AdaptiveConcurrency


def test_each_rate_limit_halves_the_limit_down_to_one():
    concurrency = AdaptiveConcurrency(8)

    limits = []
    for _ in range(4):
        concurrency.rate_limited()
        limits.append(concurrency.limit)

    assert limits == [4, 2, 1, 1]
    assert concurrency.lowest_limit == 1


def test_a_full_window_of_successes_adds_one_slot_up_to_the_maximum():
    concurrency = AdaptiveConcurrency(4)
    concurrency.rate_limited()  # 4 -> 2

    concurrency.succeeded()
    assert concurrency.limit == 2  # one success is not yet a window of two
    concurrency.succeeded()
    assert concurrency.limit == 3
    for _ in range(10):
        concurrency.succeeded()
    assert concurrency.limit == 4

