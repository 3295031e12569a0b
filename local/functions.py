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
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TextIO, cast

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


class FunctionError(Exception):
    """A function raised an error that cannot leave its container as it is."""


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

    Each function gets its own copy of the template's code (its folder and the layers), as each
    Lambda function runs in containers of its own: the layer reads a function's environment at
    import and keeps it in module state (settings, clients), which another function with another
    environment (EVENT_BUS_NAME, say) must not see. Libraries are imported once and shared.
    """

    def __init__(self, template: Template, dynamodb_endpoint: str, aws_endpoint: str | None = None) -> None:
        self.template = template
        self._endpoint = dynamodb_endpoint
        self._aws_endpoint = aws_endpoint  # the embedded server with the template's buses and queues
        self._own = dict(os.environ)  # the caller's environment wins over the template's
        self._applied: set[str] = set()
        self._handlers: dict[str, Handler] = {}
        self._modules = _ModuleSpaces(template.code_paths)
        self._lock = threading.RLock()

    def environment(self, function: Function) -> dict[str, str]:
        # boto3 sends a service's calls to AWS_ENDPOINT_URL_<service id> when set: the functions'
        # EventBridge, SQS and SSM clients reach the local buses, queues and webhook secrets without
        # code of their own.
        # (EventBridge's service id is "EventBridge": AWS_ENDPOINT_URL_EVENTS is not read.)
        endpoint = self._aws_endpoint
        aws = (
            {
                "AWS_ENDPOINT_URL_EVENTBRIDGE": endpoint,
                "AWS_ENDPOINT_URL_SQS": endpoint,
                "AWS_ENDPOINT_URL_SSM": endpoint,
            }
            if endpoint
            else {}
        )
        return {
            **function.environment,
            **LOCAL_DEFAULTS,
            **self._own,
            # Wiring, not configuration: the functions must use the store local mode seeded and
            # the buses and queues it runs.
            **{name: function.environment[name] for name in function.resource_variables},
            "DYNAMODB_ENDPOINT": self._endpoint,
            **aws,
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
            with contextlib.redirect_stdout(output), self._modules.of(function.logical_id):
                yield
        finally:
            output.flush()


class _ModuleSpaces:
    """Per function, the modules of the template's code it imported (see FunctionRuntime): in
    sys.modules while the function loads or runs, out of it otherwise, so that the next function
    imports its own. Whatever was imported before (local mode uses the layer's DynamoDB helpers)
    and every library stays shared."""

    def __init__(self, code_paths: Iterable[Path]) -> None:
        self._paths = tuple(path.resolve() for path in code_paths)
        self._shared = set(sys.modules)  # grows with the libraries the functions import
        self._spaces: dict[str, dict[str, ModuleType]] = {}

    @contextlib.contextmanager
    def of(self, logical_id: str) -> Iterator[None]:
        own = self._spaces.setdefault(logical_id, {})
        for name in sorted(own):  # parents before their submodules
            sys.modules[name] = own[name]
            _link_to_parent(name, own[name])
        try:
            yield
        finally:
            # Only names not seen before need a look: this runs on every invocation.
            for name in set(sys.modules) - self._shared - own.keys():
                if not self._deployed(sys.modules[name]):
                    self._shared.add(name)
            for name, module in list(sys.modules.items()):
                if name not in self._shared:
                    own[name] = module
                    del sys.modules[name]
                    _unlink_from_parent(name, module)

    def _deployed(self, module: ModuleType | None) -> bool:
        locations = [getattr(module, "__file__", None), *(getattr(module, "__path__", None) or [])]
        for location in locations:
            if isinstance(location, str):
                path = Path(location).resolve()
                if any(path.is_relative_to(root) for root in self._paths):
                    return True
        return False


def _link_to_parent(name: str, module: ModuleType) -> None:
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, module)


def _unlink_from_parent(name: str, module: ModuleType) -> None:
    """A shared package must not keep a function's submodule as its attribute: ``from package
    import submodule`` would hand it to the next function instead of importing that one's own."""
    parent, _, child = name.rpartition(".")
    if getattr(sys.modules.get(parent), child, None) is module:
        delattr(sys.modules[parent], child)


class FunctionTimeout(Exception):
    """The function ran past its Timeout: Lambda stops it, and its container with it."""


# Lambda's init phase is not part of the function's Timeout; this only keeps a hung import from
# holding a request forever.
INIT_LIMIT_SECONDS = 120.0


class Containers:
    """The functions' concurrent invocations, each in a container of its own, as Lambda runs them.

    A container is a worker process that imports the functions once and then runs one
    invocation at a time. Processes, not threads: a function's module state must never be shared
    by two invocations at once (the Powertools resolver keeps the current event in a class
    attribute that every resolver of a process shares), a crashing function must not take the
    gateway with it, and a function that runs past its ``Timeout`` must be stopped: its container
    is killed, and the next invocation starts a fresh one (a cold start), as in Lambda.
    """

    def __init__(
        self,
        template: Template,
        dynamodb_endpoint: str,
        size: int = DEFAULT_CONTAINERS,
        aws_endpoint: str | None = None,
    ) -> None:
        self._template = template
        self._arguments = (template, dynamodb_endpoint, aws_endpoint)
        # spawn, not fork: the gateway process runs threads (HTTP server, embedded DynamoDB).
        self._context = multiprocessing.get_context("spawn")
        # A slot holds an idle container, or None where one is still to be started. Last in, first
        # out: a warm container is reused before another is started, as Lambda reuses them.
        self._slots: queue.LifoQueue[_Container | None] = queue.LifoQueue()
        for _ in range(size):
            self._slots.put(None)
        self._started: list[_Container] = []
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Start the first container and import every function in it, so the first request is
        not the one that waits."""
        container = self._take()
        try:
            container.call(("load_all", "", None), INIT_LIMIT_SECONDS)
        finally:
            self._slots.put(container if container.alive else None)

    def invoke(self, logical_id: str, event: Any) -> Any:
        function = self._template.functions.get(logical_id)
        if function is None:
            raise FunctionLoadError(f"no function {logical_id} in template.yaml")
        container = self._take()
        try:
            return container.call(("invoke", logical_id, event), function.timeout_seconds)
        finally:
            self._slots.put(container if container.alive else None)

    def close(self) -> None:
        with self._lock:
            containers, self._started = self._started, []
        # Together, not one after another: each may take seconds to exit on a busy machine, and a
        # process manager's stop should not wait longer the more containers a load started.
        stopping = [threading.Thread(target=container.stop, daemon=True) for container in containers]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()

    def _take(self) -> _Container:
        container = self._slots.get()
        if container is not None:
            return container
        try:
            started = _Container.start(self._context, self._arguments)
        except BaseException:
            self._slots.put(None)
            raise
        with self._lock:
            self._started.append(started)
        return started


class _Container:
    """One worker process and the pipe to it."""

    def __init__(self, process: Any, connection: Any) -> None:
        self._process = process
        self._connection = connection

    @classmethod
    def start(cls, context: Any, arguments: tuple[Any, ...]) -> _Container:
        ours, theirs = context.Pipe()
        process = context.Process(target=_container_main, args=(theirs, *arguments), daemon=True)
        process.start()
        theirs.close()
        return cls(process, ours)

    @property
    def alive(self) -> bool:
        return bool(self._process.is_alive())

    def call(self, request: tuple[str, str, Any], timeout_seconds: float) -> Any:
        """The result of one request; the clock of ``timeout_seconds`` starts once the container
        has loaded the function (Lambda's init phase is not part of the Timeout)."""
        _, logical_id, _ = request
        self._connection.send(request)
        reply = self._receive(INIT_LIMIT_SECONDS, f"{logical_id or 'the functions'} did not load")
        if reply[0] == "started":
            reply = self._receive(timeout_seconds, f"{logical_id}: Task timed out after {timeout_seconds:.2f} seconds")
        status, value = reply
        if status == "error":
            raise value
        return value

    def _receive(self, timeout_seconds: float, timed_out: str) -> tuple[str, Any]:
        try:
            if self._connection.poll(timeout_seconds):
                return cast(tuple[str, Any], self._connection.recv())
        except (EOFError, OSError):
            self.stop()
            raise FunctionError("the function's container exited") from None
        log.error("%s: its container is stopped", timed_out)
        self.stop()
        raise FunctionTimeout(timed_out)

    def stop(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(OSError, ValueError):
                self._connection.send(None)
            self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._connection.close()


_container: FunctionRuntime | None = None


def _container_main(connection: Any, template: Template, dynamodb_endpoint: str, aws_endpoint: str | None) -> None:
    """A container's life: requests from the gateway process, one at a time, until told to stop."""
    global _container
    # serve stops its containers itself; a Ctrl-C in the terminal must not kill them mid-request.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _container = FunctionRuntime(template, dynamodb_endpoint, aws_endpoint)
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        kind, logical_id, event = request
        try:
            if kind == "load_all":
                _load_all()
                connection.send(("result", None))
                continue
            _container.load(logical_id)
            connection.send(("started", None))
            connection.send(("result", _container.invoke(logical_id, event)))
        except BaseException as error:
            # The gateway answers 500; the traceback belongs in this container's log (stderr).
            traceback.print_exc(file=sys.stderr)
            connection.send(("error", _transportable(error)))


def _load_all() -> None:
    assert _container is not None
    for logical_id in _container.template.functions:
        with contextlib.suppress(FunctionLoadError):  # reported by the gateway process already
            _container.load(logical_id)


def _transportable(error: BaseException) -> BaseException:
    try:
        pickle.dumps(error)
    except Exception:
        # The error travels back pickled; one that cannot be (Powertools' BatchProcessingError
        # holds tracebacks) would arrive as a pickling error instead.
        return FunctionError(f"{type(error).__name__}: {error}")
    return error


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
