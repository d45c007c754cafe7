"""A bounded load loop through a load balancer, run beside a fault: it counts the requests sent, the
ones that failed (a status other than 2xx, or no answer at all) and how long the service took to
recover, and prints one line a reader of the verifier output can compare between runs.

Bounded twice: it stops at max_requests or after max_seconds, whichever comes first, even if the
test that started it never stops it (a failed test still joins it in its finally).
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field

import requests

from labkit.measure import record


@dataclass
class LoadReport:
    name: str
    sent: int = 0
    failed: int = 0
    # Failures as (seconds since the start, status or 0, first characters of the answer).
    failures: list = field(default_factory=list)
    seconds: float = 0.0
    # GETs sent again once, as HTTP clients do, after a kept-alive connection closed with no answer.
    retried: int = 0

    @property
    def recovery(self) -> float:
        """Seconds from the first failure to the last one (0 when nothing failed): how long the
        service was unreliable. The next request after the last failure succeeded, or the loop ended."""
        if not self.failures:
            return 0.0
        return self.failures[-1][0] - self.failures[0][0]

    def line(self) -> str:
        return (
            f"load[{self.name}]: sent={self.sent} failed={self.failed} recovery={self.recovery:.2f}s"
            f" over {self.seconds:.1f}s retried={self.retried}"
        )


class Load(threading.Thread):
    """GET url every interval seconds in a thread until stopped, or bounded by count and time.

    with Load("leader-kill", "http://172.20.22.10/") as load:
        ...fault...
    assert load.report.failed == 0, load.report.failures
    """

    def __init__(
        self,
        name: str,
        url: str,
        interval: float = 0.1,
        timeout: float = 3,
        max_requests: int = 6000,
        max_seconds: float = 900,
    ):
        super().__init__(daemon=True, name=f"load-{name}")
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.report = LoadReport(name)
        self._stop_requested = threading.Event()

    def run(self):
        start = time.monotonic()
        session = requests.Session()
        while (
            not self._stop_requested.is_set()
            and self.report.sent < self.max_requests
            and time.monotonic() - start < self.max_seconds
        ):
            status, text = 0, ""
            try:
                response = self._get(session)
                status, text = response.status_code, response.text[:120]
            except requests.RequestException as error:
                text = str(error)[:120]
            self.report.sent += 1
            if not 200 <= status < 300:
                self.report.failed += 1
                self.report.failures.append((round(time.monotonic() - start, 2), status, text))
            self._stop_requested.wait(self.interval)
        self.report.seconds = time.monotonic() - start

    def _get(self, session: requests.Session) -> requests.Response:
        """One GET. A kept-alive connection that nginx closes with no answer at all (an old worker
        closing its idle connections at a reload, as the client reuses one) is the race RFC 9112
        9.3.1 lets a client retry an idempotent request for: sent again once, on a new connection,
        and counted in `retried`. Any other error, and a second one, is a failure."""
        try:
            return session.get(self.url, timeout=self.timeout)
        except requests.ConnectionError as error:
            if not _closed_without_answer(error):
                raise
            self.report.retried += 1
            session.close()
            return session.get(self.url, timeout=self.timeout)

    def stop(self) -> LoadReport:
        self._stop_requested.set()
        self.join(timeout=self.timeout + 5)
        print(self.report.line())
        report = self.report
        record(f"requests failed: {report.name}", report.failed, "requests", f"of {report.sent} sent")
        return report

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()


def _closed_without_answer(error: BaseException) -> bool:
    """Whether the connection closed before any byte of an answer (http.client.RemoteDisconnected
    somewhere in the chain of causes), not refused, reset mid-answer or timed out."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, http.client.RemoteDisconnected) or any(
            isinstance(arg, http.client.RemoteDisconnected) for arg in getattr(error, "args", ())
        ):
            return True
        error = error.__cause__ or error.__context__
    return False
