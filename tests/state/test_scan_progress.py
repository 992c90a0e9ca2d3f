"""scan_aws reports its progress (resources read, throttled tries, failures) to a ProgressReporter."""

from __future__ import annotations

import threading

from mlops_infra.state.aws_live import scan_aws
from tests.state.test_aws_live import NO_SLEEP, REGION, FakeSageMaker, FakeSession, client_error, models, res


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total: int | None = None
        self.done = 0
        self.counts: dict[str, int] = {}

    def set_total(self, total: int) -> None:
        self.total = total

    def advance(self, done: int = 1) -> None:
        with self.lock:
            self.done += done

    def count(self, label: str, n: int = 1) -> None:
        with self.lock:
            self.counts[label] = self.counts.get(label, 0) + n

    def status(self, text: str) -> None:
        pass


def test_scan_reports_total_done_throttles_and_failures() -> None:
    fake = FakeSageMaker({
        "m000": [client_error("ThrottlingException"), client_error("TooManyRequestsException")],
        "m001": [client_error("Throttling")] * NO_SLEEP.attempts,
        "m003": [client_error("AccessDeniedException", "denied")],
    })
    # a component is not readable: not counted
    resources = [*models(6), res("mlops:serving:Endpoint", "c", custom=False)]
    recorder = Recorder()
    live = scan_aws(resources, region=REGION, session_factory=lambda: FakeSession(fake), retry=NO_SLEEP,
                    progress=recorder)
    assert recorder.total == 6 and recorder.done == 6
    assert recorder.counts == {"throttled": 2 + NO_SLEEP.attempts, "failed": 2}
    assert len(live.errors) == 2
