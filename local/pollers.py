"""What Lambda's event source mappings share as local mode runs them (streams, queues): one thread
per mapping, polling its source until ``serve`` stops."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Pollers:
    """Threads that each poll one event source of the template, started and stopped together."""

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    def _add(self, name: str, run: Callable[[], None]) -> None:
        self._threads.append(threading.Thread(target=run, name=name, daemon=True))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop polling; an invocation under way is let finish."""
        self._stopped.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()
