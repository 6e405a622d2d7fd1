"""The CPU-time bound of `catalog.limits`: work that swallows the timer's exception still ends."""

import time

import pytest

from catalog.limits import CpuTimeUsed, cpu_time_limit


def spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_work_past_its_bound_ends_in_cpu_time_used():
    start = time.process_time()
    with pytest.raises(CpuTimeUsed), cpu_time_limit(0.2):
        spin(10)
    assert time.process_time() - start < 1.5


def test_a_swallowed_first_signal_does_not_let_the_work_run_on():
    # As when the handler runs inside a __del__: the exception is dropped once, the timer fires again.
    start, swallowed = time.process_time(), 0
    with pytest.raises(CpuTimeUsed), cpu_time_limit(0.2):
        for _ in range(3):
            try:
                spin(2)
            except CpuTimeUsed:
                swallowed += 1
                if swallowed > 1:
                    raise
    assert swallowed == 2 and time.process_time() - start < 1.5


def test_work_that_swallows_every_signal_still_fails_when_it_returns():
    with pytest.raises(CpuTimeUsed), cpu_time_limit(0.1):
        end = time.process_time() + 0.5
        while time.process_time() < end:
            try:
                spin(0.01)
            except CpuTimeUsed:
                pass


def test_work_within_its_bound_returns_and_no_timer_fires_afterwards():
    with cpu_time_limit(0.3):
        spin(0.05)
    spin(0.5)  # a timer left armed would raise here
