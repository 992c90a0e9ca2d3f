"""The live scan's in-flight limit (state/aws_live/concurrency.py): it grows only while a doubled
limit measurably reads faster, never passes max_workers, and the scan counts API calls for it.
Time is a scripted clock: no test here depends on the machine's speed."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mlops_infra.state.aws_live import RetryPolicy, scan_aws
from mlops_infra.state.aws_live.concurrency import GAIN, START, WINDOW_MIN, WINDOW_PER_SLOT, AdaptiveLimit
from mlops_infra.state.aws_live.context import ScanContext
from tests.state.test_aws_live import REGION, FakeSageMaker, FakeSession, models
from tests.support import fixtures
from tests.support.moto_server import session

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url


class Script:
    """A clock and a work counter driven by the test: ``run(limit, rate)`` completes one window
    at ``rate`` units of work per second with the limit's current value."""

    def __init__(self) -> None:
        self.now = 0.0
        self.work = 0

    def clock(self) -> float:
        return self.now

    def counter(self) -> int:
        return self.work

    def window(self, limit: AdaptiveLimit, rate_at: dict[int, float]) -> None:
        size = limit.window()
        rate = rate_at[limit.limit]
        for _ in range(size):
            assert limit.acquire()
            self.work += 1
            self.now += 1 / rate
            limit.release()


def run(ceiling: int, rate_at: dict[int, float], windows: int = 8) -> AdaptiveLimit:
    script = Script()
    limit = AdaptiveLimit(ceiling, work=script.counter, clock=script.clock)
    for _ in range(windows):
        if limit.settled:
            break
        script.window(limit, rate_at)
    return limit


def test_the_limit_doubles_while_each_doubling_reads_faster_and_stops_at_max_workers() -> None:
    limit = run(32, {4: 100.0, 8: 190.0, 16: 350.0, 32: 600.0})
    assert [n for n, _ in limit.history] == [4, 8, 16, 32]
    assert limit.limit == 32 and limit.settled


def test_a_doubling_that_does_not_gain_enough_goes_back_and_settles() -> None:
    flat = 100.0 * (1 + GAIN) * 0.99  # just under the gain a doubling must show
    limit = run(32, {4: 100.0, 8: flat, 16: 500.0})
    assert [n for n, _ in limit.history] == [4, 8] and limit.limit == 4 and limit.settled
    slower = run(16, {4: 100.0, 8: 150.0, 16: 120.0})
    assert [n for n, _ in slower.history] == [4, 8, 16] and slower.limit == 8 and slower.settled


@pytest.mark.parametrize("ceiling", [1, 2, START])
def test_max_workers_up_to_the_start_is_a_fixed_pool(ceiling: int) -> None:
    limit = AdaptiveLimit(ceiling)
    assert limit.limit == ceiling and limit.settled


def test_a_larger_max_workers_only_adds_what_it_measured() -> None:
    """With throughput flat beyond 8 reads in flight, 8, 16 and 32 workers all end at 8 (and a
    smaller ceiling is never passed)."""
    rates = {4: 100.0, 8: 180.0, 16: 181.0, 32: 150.0}
    assert [run(ceiling, rates).limit for ceiling in (1, 4, 8, 16, 32)] == [1, 4, 8, 8, 8]


def test_without_counted_calls_the_window_counts_units_done() -> None:
    script = Script()
    limit = AdaptiveLimit(8, work=lambda: 0, clock=script.clock)
    for _ in range(WINDOW_MIN):
        assert limit.acquire()
        script.now += 0.01
        limit.release()
    assert limit.history == [(4, pytest.approx(100.0))] and limit.limit == 8


def test_acquire_waits_for_a_slot_and_gives_up_when_told() -> None:
    limit = AdaptiveLimit(1)
    assert limit.acquire()
    stop = threading.Event()
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(limit.acquire(stop.is_set)))
    waiter.start()
    stop.set()
    waiter.join(5)
    assert got == [False]
    limit.release()
    assert limit.acquire()


def test_the_scan_reports_reads_in_flight_and_never_exceeds_max_workers() -> None:
    statuses: list[str] = []

    class Progress:
        def set_total(self, total: int) -> None: ...
        def advance(self, done: int = 1) -> None: ...
        def count(self, label: str, n: int = 1) -> None: ...
        def status(self, text: str) -> None:
            statuses.append(text)

    fake = FakeSageMaker(delay=0.002)
    live = scan_aws(models(40), region=REGION, session_factory=lambda: FakeSession(fake), max_workers=2,
                    progress=Progress())
    assert len(live.resources) == 40 and fake.peak <= 2
    assert statuses == ["2 reads in flight"]


@pytest.mark.moto
def test_the_scan_context_counts_the_calls_of_its_clients(moto_url: str) -> None:
    ctx = ScanContext(session, moto_url, None, RetryPolicy())
    sns: Any = ctx.client("sns", REGION)
    sns.list_topics()
    sns.create_topic(Name="t")
    ctx.client("iam", REGION).list_roles()
    assert ctx.calls() == 3


def test_windows_are_measured_only_once_ready() -> None:
    """Work done while the clients are still being made never counts: the first window starts
    when ``ready()`` turns true."""
    script = Script()
    ready = threading.Event()
    limit = AdaptiveLimit(8, work=script.counter, clock=script.clock, ready=ready.is_set)
    script.window(limit, {4: 1.0})  # slow, not ready: not measured
    script.window(limit, {4: 1.0})
    assert limit.history == [] and limit.limit == 4
    ready.set()
    script.window(limit, {4: 100.0})
    assert limit.history == [(4, pytest.approx(100.0))] and limit.limit == 8


def test_close_wakes_the_waiting_holders_and_refuses_new_ones() -> None:
    limit = AdaptiveLimit(2)
    assert limit.acquire() and limit.acquire()
    got: list[bool] = []
    waiters = [threading.Thread(target=lambda: got.append(limit.acquire())) for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    limit.close()
    for waiter in waiters:
        waiter.join(5)
    assert got == [False, False, False] and not limit.acquire()


def test_a_window_is_at_most_an_eighth_of_the_scan_and_at_least_the_minimum() -> None:
    assert AdaptiveLimit(32).window() == max(WINDOW_MIN, WINDOW_PER_SLOT * START)
    small = AdaptiveLimit(32, total=8 * (WINDOW_MIN + 10))
    assert small.window() == max(WINDOW_MIN, min(WINDOW_PER_SLOT * START, WINDOW_MIN + 10))
    assert AdaptiveLimit(32, total=10).window() == WINDOW_MIN
    script = Script()
    limit = AdaptiveLimit(32, work=script.counter, clock=script.clock, total=400)
    for _ in range(4):
        script.window(limit, {4: 100.0, 8: 200.0, 16: 400.0, 32: 800.0})
    assert [n for n, _ in limit.history] == [4, 8, 16, 32] and script.work <= 24 + 48 + 50 + 50
