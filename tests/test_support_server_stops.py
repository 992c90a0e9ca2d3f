"""The in-process test servers stop promptly (tests/support: moto, the Prometheus harness's
RecordingReceiver, the Price List stand-in).

Each serves with ``socketserver.BaseServer.serve_forever(poll_interval)``, whose accept loop checks for
a stop request once per ``poll_interval`` ("Handle requests until an explicit shutdown() request. Poll
for shutdown every poll_interval seconds", https://docs.python.org/3/library/socketserver.html). At the
0.5 s default every stop waited about half a second, and the suite stops these servers hundreds of
times; at the harnesses' ``STOP_POLL`` a stop takes a few hundredths of a second. Each server here
first answers one request (so its accept loop is running, waiting in ``select``), then is stopped;
the median of five stops is compared with a bound well under the old half second and well over the
new poll interval, so a loaded machine does not fail it.
"""

from __future__ import annotations

import contextlib
import statistics
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from tests.support import moto_server, price_list_server, prometheus
from tests.support.moto_server import running_moto_server
from tests.support.price_list_server import PriceListServer
from tests.support.prometheus import RecordingReceiver

STOPS = 5
BOUND = 0.3
"""Seconds: the median stop must be under this (the old accept loop's poll was 0.5 s)."""


def _get(url: str) -> None:
    with contextlib.suppress(urllib.error.HTTPError):  # an error answer is an answer: the accept loop ran
        urllib.request.urlopen(url, timeout=30).close()


def _median_stop(serve: Callable[[], AbstractContextManager[str]]) -> float:
    stops = []
    for _ in range(STOPS):
        with serve() as url:
            _get(url)
            started = time.monotonic()
        stops.append(time.monotonic() - started)
    return statistics.median(stops)


class _Receiver:
    def __enter__(self) -> str:
        self.receiver = RecordingReceiver()
        return self.receiver.url("/")

    def __exit__(self, *exc: object) -> None:
        self.receiver.close()


class _PriceList:
    def __enter__(self) -> str:
        self.server = PriceListServer([]).__enter__()
        return self.server.url

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)


@pytest.mark.parametrize(("serve", "poll"), [
    (running_moto_server, moto_server.STOP_POLL),
    (lambda: running_moto_server(keep_alive=True), moto_server.STOP_POLL),
    (_Receiver, prometheus.STOP_POLL),
    (_PriceList, price_list_server.STOP_POLL),
], ids=["moto", "moto-keep-alive", "recording-receiver", "price-list"])
def test_a_test_server_stops_within_a_fraction_of_the_old_poll(serve, poll: float) -> None:
    assert poll <= 0.05
    assert _median_stop(serve) < BOUND
