"""The functions of template.yaml, run in this process the way Lambda runs them: the module is
imported once with the function's environment in place (the functions read their settings at
import), then its handler is called with an event and a context."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import multiprocessing
import os
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from types import ModuleType
from typing import Any, Protocol, TextIO

from .template import ACCOUNT_ID, REGION, Function, Template

log = logging.getLogger("approvals_local")

Handler = Callable[[Any, Any], Any]
DEFAULT_CONTAINERS = 4


class Invoker(Protocol):
    def invoke(self, logical_id: str, event: Any) -> Any: ...


# Local-mode settings the caller's environment may still override.
LOCAL_DEFAULTS = {
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    # Keep the console readable: warnings and errors only, no metrics documents.
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
# Powertools warns on every flush without metrics (a read adds none); it is noise here.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


class FunctionLoadError(Exception):
    pass


class LambdaContext:
    """What Powertools' inject_lambda_context and the handlers read from Lambda's context."""

    def __init__(self, function: Function) -> None:
        self.function_name = function.logical_id
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function.logical_id}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.logical_id}"
        self.log_stream_name = f"local/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionRuntime:
    """Imports and invokes the template's functions.

    One invocation at a time: Lambda never runs two invocations in one container at once, and the
    handlers rely on that (the Powertools resolver keeps the current event in a module global; the
    logger and metrics are shared by every function through the layer).
    """

    def __init__(self, template: Template, dynamodb_endpoint: str) -> None:
        self.template = template
        self._endpoint = dynamodb_endpoint
        self._own = dict(os.environ)  # the caller's environment wins over the template's
        self._applied: set[str] = set()
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.RLock()

    def environment(self, function: Function) -> dict[str, str]:
        return {
            **function.environment,
            **LOCAL_DEFAULTS,
            **self._own,
            # Wiring, not configuration: the functions must use the store local mode seeded.
            **{name: function.environment[name] for name in function.table_variables},
            "DYNAMODB_ENDPOINT": self._endpoint,
        }

    def load(self, logical_id: str) -> Handler:
        with self._lock:
            if logical_id not in self._handlers:
                function = self._function(logical_id)
                with self._as(function):
                    self._handlers[logical_id] = _import_handler(function)
            return self._handlers[logical_id]

    def invoke(self, logical_id: str, event: Any) -> Any:
        with self._lock:
            handler = self.load(logical_id)
            function = self._function(logical_id)
            with self._as(function):
                return handler(event, LambdaContext(function))

    def _function(self, logical_id: str) -> Function:
        try:
            return self.template.functions[logical_id]
        except KeyError:
            raise FunctionLoadError(f"no function {logical_id} in template.yaml") from None

    @contextlib.contextmanager
    def _as(self, function: Function) -> Iterator[None]:
        """The function's environment in os.environ; what it prints goes to stderr, as a
        container's output does under sam local (stdout belongs to `invoke`'s result)."""
        environment = self.environment(function)
        for name in self._applied - environment.keys():
            os.environ.pop(name, None)
        os.environ.update(environment)
        self._applied = set(environment) - self._own.keys()
        output: TextIO | _WithoutMetricDocuments = sys.stderr
        if environment.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
            output = _WithoutMetricDocuments(sys.stderr)
        try:
            with contextlib.redirect_stdout(output):
                yield
        finally:
            output.flush()


class Containers:
    """The functions' concurrent invocations, each in a container of its own, as Lambda runs them.

    A container is a worker process that imports the functions once and then runs one
    invocation at a time. Processes, not threads: a function's module state must never be shared
    by two invocations at once (the Powertools resolver keeps the current event in a class
    attribute that every resolver of a process shares), and a crashing function must not take
    the gateway with it.
    """

    def __init__(self, template: Template, dynamodb_endpoint: str, size: int = DEFAULT_CONTAINERS) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=size,
            # spawn, not fork: the gateway process runs threads (HTTP server, embedded DynamoDB).
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_container,
            initargs=(template, dynamodb_endpoint),
        )

    def warm(self) -> None:
        """Start the first container and import every function in it, so the first request is
        not the one that waits."""
        self._pool.submit(_load_all).result()

    def invoke(self, logical_id: str, event: Any) -> Any:
        return self._pool.submit(_invoke_in_container, logical_id, event).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


_container: FunctionRuntime | None = None


def _start_container(template: Template, dynamodb_endpoint: str) -> None:
    global _container
    _container = FunctionRuntime(template, dynamodb_endpoint)


def _load_all() -> None:
    assert _container is not None
    for logical_id in _container.template.functions:
        with contextlib.suppress(FunctionLoadError):  # reported by the gateway process already
            _container.load(logical_id)


def _invoke_in_container(logical_id: str, event: Any) -> Any:
    assert _container is not None
    try:
        return _container.invoke(logical_id, event)
    except BaseException:
        # The gateway answers 500; the traceback belongs in this container's log (stderr).
        traceback.print_exc(file=sys.stderr)
        raise


class _WithoutMetricDocuments(io.TextIOBase):
    """Powertools prints a metrics document every 100 values of a metric even when metrics are
    disabled; disabled means none on the console."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if not line.startswith('{"_aws"'):
                self._target.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending and not self._pending.startswith('{"_aws"'):
            self._target.write(self._pending)
        self._pending = ""
        self._target.flush()


def _import_handler(function: Function) -> Handler:
    path = function.module_path
    # All functions are app.py: each gets a module name of its own.
    name = f"approvals_local_fn_{function.logical_id}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise FunctionLoadError(f"{function.logical_id}: no module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Lambda puts the code folder on the path, for imports of the function's own modules.
    sys.path.insert(0, str(function.code_uri))
    try:
        spec.loader.exec_module(module)
    except BaseException as error:
        sys.modules.pop(name, None)
        raise FunctionLoadError(f"{function.logical_id}: importing {path} failed: {error!r}") from error
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(function.code_uri))
    return _attribute(module, function)


def _attribute(module: ModuleType, function: Function) -> Handler:
    handler = getattr(module, function.attribute, None)
    if not callable(handler):
        raise FunctionLoadError(f"{function.logical_id}: {function.module_path} has no {function.attribute}")
    return handler  # type: ignore[no-any-return]
