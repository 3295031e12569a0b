"""The template's Schedule events, run as EventBridge would run them: at their rate, with a
"Scheduled Event" event (or every --schedule-interval seconds, to see a sweep without waiting)."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from .functions import Invoker
from .template import ACCOUNT_ID, REGION, STACK_NAME, Schedule

log = logging.getLogger("approvals_local")

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs of ``rate(5 minutes)``; None for what local mode cannot time (cron, at)."""
    found = _RATE.fullmatch(expression.strip())
    if found is None:
        return None
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2).rstrip("s")]


def scheduled_event(schedule: Schedule) -> Any:
    if schedule.input is not None:
        return json.loads(schedule.input)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{STACK_NAME}-{schedule.function}{schedule.name}"],
        "detail": {},
    }


class Scheduler:
    def __init__(self, schedules: Iterable[Schedule], runtime: Invoker, interval: float | None) -> None:
        self._runtime = runtime
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="approvals-local-scheduler", daemon=True)
        self._periods: list[tuple[Schedule, float]] = []
        for schedule in schedules:
            period = interval or rate_seconds(schedule.expression)
            if not schedule.enabled:
                continue
            if period is None:
                log.warning(
                    "%s.%s: %s runs only with --schedule-interval",
                    schedule.function,
                    schedule.name,
                    schedule.expression,
                )
                continue
            self._periods.append((schedule, float(period)))

    def start(self) -> None:
        if self._periods:
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        # Like EventBridge, the first run comes one period after start.
        due = [time.monotonic() + period for _, period in self._periods]
        while not self._stopped.wait(max(0.0, min(due) - time.monotonic())):
            for index, (schedule, period) in enumerate(self._periods):
                if due[index] <= time.monotonic():
                    self._fire(schedule)
                    due[index] = time.monotonic() + period

    def _fire(self, schedule: Schedule) -> None:
        started = time.perf_counter()
        try:
            result = self._runtime.invoke(schedule.function, scheduled_event(schedule))
        except Exception:
            log.exception("%s (schedule %s) failed", schedule.function, schedule.name)
            return
        elapsed = (time.perf_counter() - started) * 1000
        log.info("schedule %s %s %.1fms %s", schedule.function, schedule.name, elapsed, _short(result))


def _short(result: Any) -> str:
    text = json.dumps(result, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
