"""Run the approval service of template.yaml on this machine: serve it over HTTP, mint tokens it
accepts, seed its store, invoke one function (the contract's "Local mode")."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import signal
import sys
import threading
import traceback
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError
from werkzeug.serving import WSGIRequestHandler, make_server

from approval_core.adapters.approval_store import DynamoApprovalStore
from approval_core.adapters.dynamodb import make_client

from .dynamo import EmbeddedAws, StoreError, ensure_tables, use_test_credentials
from .events import EventWatcher, Watch, aws_client, ensure_event_resources, line_sink
from .functions import DEFAULT_CONTAINERS, Containers, FunctionLoadError, FunctionRuntime
from .gateway import FIDELITY_NOTES, Gateway, GatewaySettings, undocumented_origins
from .queues import QueueSources
from .scheduler import Scheduler, scheduled_event
from .seed import DEMO_SEED, Seed, SeedError, load_seed, read_seed, summary
from .state import publish_server, running_servers, state_dir, withdraw_server
from .streams import StreamSources
from .template import Template, TemplateError, find_root, load_template
from .tokens import DEFAULT_SCOPES, ClaimNames, load_signing_key, mint

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger("approvals_local")

DIRECTORY_TABLE = "DirectoryTable"  # the template's table that holds the directory and the carts
WEBHOOK_SECRETS_PATH_PARAMETER = "WebhookSecretsPath"
TENANT = re.compile(r"^[a-z][a-z0-9]{2,15}$")
APPROVALS_TABLE = "ApprovalsTable"
USAGE_ERROR = 2


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _log_to_stderr()
    try:
        return int(args.command(args))
    except CliError as error:
        print(f"approvals-local: {error}", file=sys.stderr)
        return error.code
    except TemplateError as error:
        print(f"approvals-local: template.yaml: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# --------------------------------------------------------------------------- serve
class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the gateway logs each request itself, with its duration


def serve(args: argparse.Namespace) -> int:
    template = _template()
    seeds = _read_seeds(args.seed or [DEMO_SEED])
    secrets = _webhook_secrets(args.webhook_secret or [])
    use_test_credentials()
    key = load_signing_key(state_dir())
    with contextlib.ExitStack() as stack:
        # The embedded server always runs: it has the template's event buses and queues, and is
        # the store too unless --dynamodb-endpoint names another.
        aws = stack.enter_context(EmbeddedAws()).endpoint
        endpoint = args.dynamodb_endpoint or aws
        _prepare_store(make_client(endpoint), template, seeds)
        sink = line_sink(_events_file(stack, args.events_file)) if args.events_file else line_sink(sys.stdout, "event ")
        watcher = EventWatcher(aws, _prepare_events(aws, template), sink)
        _store_webhook_secrets(aws, template, secrets)
        _load_functions(FunctionRuntime(template, endpoint, aws))
        containers = Containers(template, endpoint, args.containers, aws_endpoint=aws)
        stack.callback(containers.close)
        containers.warm()
        _say_where_local_mode_differs(template, args.throttle)
        gateway = Gateway(template.routes, containers, key, GatewaySettings(throttling=args.throttle))
        server = _listen(args.host, args.port, gateway)
        host = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{host}:{server.server_address[1]}"
        publish_server(endpoint, url, aws)
        stack.callback(withdraw_server)
        serving = threading.Thread(target=server.serve_forever, name="approvals-local-http", daemon=True)
        serving.start()
        schedules = [schedule for function in template.functions.values() for schedule in function.schedules]
        scheduler = Scheduler(schedules, containers, args.schedule_interval)
        streams = StreamSources(template, containers, endpoint, aws)
        queues = QueueSources(template, containers, aws)
        stop = _stop_on_signals()
        print(f"listening on {url}", flush=True)
        tenant, user = _example_caller(seeds)
        print(f"get a token: {_this_command()} token --tenant {tenant} --user {user}", flush=True)
        watcher.start()
        streams.start()
        queues.start()
        scheduler.start()
        stop.wait()
        log.info("stopping")
        scheduler.stop()
        queues.stop()
        streams.stop()
        watcher.stop()  # after the functions that publish: their last events are shown too
        server.shutdown()
        serving.join()
    return 0


def _webhook_secrets(entries: Sequence[str]) -> dict[str, str]:
    secrets = {}
    for entry in entries:
        tenant, separator, secret = entry.partition("=")
        if not separator or not TENANT.match(tenant) or not secret:
            raise CliError(f"--webhook-secret {entry.split('=')[0]}=...: must be TENANT=SECRET", USAGE_ERROR)
        secrets[tenant] = secret
    return secrets


def _store_webhook_secrets(endpoint: str, template: Template, secrets: dict[str, str]) -> None:
    """Each tenant's webhook secret as the SecureString the receiver reads (template parameter
    WebhookSecretsPath), in the embedded server: as an operator stores it in SSM."""
    path = template.parameters.get(WEBHOOK_SECRETS_PATH_PARAMETER)
    if secrets and not path:
        raise CliError(f"template.yaml has no {WEBHOOK_SECRETS_PATH_PARAMETER} parameter: nowhere to put the secrets")
    ssm = aws_client("ssm", endpoint)
    for tenant, secret in secrets.items():
        try:
            ssm.put_parameter(Name=f"{path}/{tenant}", Value=secret, Type="SecureString", Overwrite=True)
        except (BotoCoreError, ClientError) as error:
            raise CliError(f"cannot store the webhook secret of {tenant}: {error}") from None
        log.info("webhook secret set for tenant %s", tenant)


def _say_where_local_mode_differs(template: Template, throttling: bool) -> None:
    """What the gateway does not do as API Gateway does, said before it listens (README, "Local
    mode and AWS")."""
    limits = {route.throttling for route in template.routes if route.throttling is not None}
    described = ", ".join(f"{limit.rate_limit:g}/s, burst {limit.burst_limit}" for limit in limits)
    if limits and throttling:
        log.info("throttling as the stage does: %s per route (429 beyond)", described)
    elif limits:
        log.info("throttling off: the stage throttles at %s per route in AWS; --throttle enforces it here", described)
    cors = next((route.cors for route in template.routes if route.cors), None)
    for origin in undocumented_origins(cors):
        log.warning("CORS: AllowOrigins %s is matched literally: AWS documents only *, https://* and http://*", origin)
    for note in FIDELITY_NOTES:
        log.info("local mode: %s", note)


def _events_file(stack: contextlib.ExitStack, path: Path) -> TextIO:
    try:
        return stack.enter_context(path.open("a", encoding="utf-8"))
    except OSError as error:
        raise CliError(f"--events-file {path}: {error.strerror or error}") from None


def _prepare_events(endpoint: str, template: Template) -> list[Watch]:
    try:
        return ensure_event_resources(endpoint, template)
    except (BotoCoreError, ClientError) as error:
        raise CliError(f"cannot create the event buses and queues: {error}") from None


def _load_functions(runtime: FunctionRuntime) -> None:
    """Import every function now, so the first requests are not slow and a broken one shows."""
    for logical_id in runtime.template.functions:
        try:
            runtime.load(logical_id)
        except FunctionLoadError:
            # Lambda retries a failed init on the next invocation: so does local mode.
            log.exception("%s does not load; its routes answer 500 until it does", logical_id)


def _listen(host: str, port: int, gateway: Gateway) -> Any:
    try:
        return make_server(host, port, gateway, threaded=True, request_handler=_QuietHandler)
    except (OSError, SystemExit):
        # werkzeug has said why on stderr (and would exit): stop here, so the store is cleaned up.
        raise CliError(f"cannot listen on {host}:{port}") from None


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return stop


def _this_command() -> str:
    """How the user can run this command again from their working directory: the console script
    lives in the virtualenv, usually not on PATH (.venv/bin/approvals-local)."""
    script = Path(sys.argv[0])
    if script.name != "approvals-local" or script.parent == Path():
        return "approvals-local"  # found on PATH
    try:
        relative = script.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(script.resolve())
    return str(relative) if relative.parent != Path() else f"./{relative}"


def _example_caller(seeds: Sequence[Seed]) -> tuple[str, str]:
    for seed in seeds:
        for tenant, content in seed.tenants.items():
            if content.customers:
                return tenant, content.customers[0].id
    return "acme", "ann"


# --------------------------------------------------------------------------- token
def token(args: argparse.Namespace) -> int:
    if not args.tenant.strip() or not args.user.strip():
        raise CliError("--tenant and --user must not be empty", USAGE_ERROR)
    parameters = _template().parameters
    # The claim names the functions read: TENANT_CLAIM / GROUPS_CLAIM in the environment win over
    # the template's defaults, for the functions under `serve` as for the tokens minted here.
    names = ClaimNames(
        tenant=os.environ.get("TENANT_CLAIM") or parameters.get("TenantClaim") or ClaimNames.tenant,
        groups=os.environ.get("GROUPS_CLAIM") or parameters.get("GroupsClaim") or ClaimNames.groups,
    )
    scopes = [scope for entry in args.scope for scope in entry.split()] if args.scope else list(DEFAULT_SCOPES)
    print(
        mint(
            load_signing_key(state_dir()),
            tenant=args.tenant,
            user=args.user,
            scopes=scopes,
            groups=args.group,
            ttl=args.ttl,
            claim_names=names,
        )
    )
    return 0


# --------------------------------------------------------------------------- seed
def seed(args: argparse.Namespace) -> int:
    if args.table:
        return _seed_table(args.file, args.table, args.dynamodb_endpoint)
    if args.dynamodb_endpoint and (args.port is not None or args.url):
        raise CliError("--dynamodb-endpoint names the store itself: leave out --port/--url", USAGE_ERROR)
    template = _template()
    seeds = _read_seeds([args.file])
    endpoint = args.dynamodb_endpoint
    target = f"DynamoDB at {endpoint}"
    if not endpoint:
        server, others = _seed_target(args.port, args.url)
        endpoint = server["dynamodbEndpoint"]
        target = f"the serve at {server['url']} (pid {server['pid']})"
        if others:
            urls = ", ".join(str(other["url"]) for other in others)
            log.info("other serves run at %s: choose one with --port or --url", urls)
    use_test_credentials()
    _prepare_store(make_client(endpoint), template, seeds)  # logs what it loaded
    log.info("loaded %s into %s", args.file, target)
    return 0


def _seed_table(path: Path, table: str, endpoint: str | None) -> int:
    """Load into an existing directory table (a deployed stack's DirectoryTable) with the caller's
    own AWS credentials and region: nothing is created, no dummy credentials are used."""
    (content,) = _read_seeds([path])
    client = make_client(endpoint)
    where = f"table {table}" + (f" at {endpoint}" if endpoint else f" in {client.meta.region_name}")
    try:
        client.describe_table(TableName=table)
        written = load_seed(client, table, content)
    except (BotoCoreError, ClientError) as error:
        raise CliError(f"cannot load into {where}: {error}") from None
    log.info("seeded %s", summary(content))
    log.info("loaded %s into %s (%d items)", path, where, written)
    return 0


def _seed_target(port: int | None, url: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The running serve seed loads into: the one --port or --url names, else the latest started
    (and the others, so the user learns they exist)."""
    servers = running_servers()
    if not servers:
        raise CliError(
            "no approvals-local serve is running here: start one, or pass --dynamodb-endpoint URL"
            f" (looked in {state_dir()})"
        )
    if port is None and url is None:
        return servers[0], servers[1:]
    for server in servers:
        if _same_server(str(server["url"]), port, url):
            return server, []
    wanted = f"port {port}" if port is not None else url
    running = ", ".join(str(server["url"]) for server in servers)
    raise CliError(f"no approvals-local serve runs on {wanted} (running: {running})")


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _same_server(published: str, port: int | None, url: str | None) -> bool:
    served = urllib.parse.urlsplit(published)
    if port is not None:
        return served.port == port
    asked = urllib.parse.urlsplit(url if url and "://" in url else f"http://{url}")
    hosts = {served.hostname, asked.hostname}
    same_host = len(hosts) == 1 or hosts <= LOOPBACK
    return same_host and served.port == (asked.port or 80)


# --------------------------------------------------------------------------- invoke
def invoke(args: argparse.Namespace) -> int:
    template = _template()
    function = template.functions.get(args.function)
    if function is None:
        known = ", ".join(sorted(template.functions)) or "none"
        raise CliError(f"no function {args.function} in template.yaml (functions: {known})", USAGE_ERROR)
    event = _event(args.event, template, args.function)
    use_test_credentials()
    with contextlib.ExitStack() as stack:
        # As under serve: the template's buses and queues are in the embedded server.
        aws = stack.enter_context(EmbeddedAws()).endpoint
        endpoint = args.dynamodb_endpoint
        if not endpoint:
            endpoint = aws
            _prepare_store(make_client(endpoint), template, _read_seeds([DEMO_SEED]))
        else:
            _prepare_store(make_client(endpoint), template, [])
        # What the function publishes goes to stderr: stdout is the function's result alone.
        watcher = EventWatcher(aws, _prepare_events(aws, template), line_sink(sys.stderr, "event "))
        runtime = FunctionRuntime(template, endpoint, aws)
        try:
            result = runtime.invoke(args.function, event)
        except FunctionLoadError as error:
            traceback.print_exception(error.__cause__ or error, file=sys.stderr)
            raise CliError(str(error)) from None
        except Exception as error:
            # What Lambda answers for a function that raised; the traceback goes to the log.
            traceback.print_exc(file=sys.stderr)
            print(json.dumps({"errorMessage": str(error), "errorType": type(error).__name__}))
            return 1
        finally:
            with contextlib.suppress(BotoCoreError, ClientError):
                watcher.drain()
    print(json.dumps(result, default=str))
    return 0


def _event(path: str | None, template: Template, logical_id: str) -> Any:
    if path is None:
        function = template.functions[logical_id]
        default = template.root / "events" / f"{_snake(logical_id.removesuffix('Function'))}.json"
        if not default.is_file() and function.schedules:
            return scheduled_event(function.schedules[0])
        if not default.is_file():
            raise CliError(f"no {default.relative_to(template.root)}: pass --event FILE", USAGE_ERROR)
        path = str(default)
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as error:
        raise CliError(f"{path}: cannot read: {error.strerror or error}", USAGE_ERROR) from None
    except ValueError as error:
        raise CliError(f"{path}: not JSON: {error}", USAGE_ERROR) from None


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


# --------------------------------------------------------------------------- shared
def _template() -> Template:
    return load_template(find_root() / "template.yaml")


def _read_seeds(paths: Sequence[Path]) -> list[Seed]:
    try:
        return [read_seed(Path(path)) for path in paths]
    except SeedError as error:
        raise CliError(f"seed refused, nothing loaded:\n{error}", USAGE_ERROR) from None


def _prepare_store(client: DynamoDBClient, template: Template, seeds: Sequence[Seed]) -> None:
    """The template's tables, created where missing, and the seeds loaded into them."""
    if DIRECTORY_TABLE not in template.tables:
        raise CliError(f"template.yaml has no {DIRECTORY_TABLE} to seed")
    try:
        for name in ensure_tables(client, template):
            log.info("created table %s", name)
        # A new table is marked complete at once; one written by an older version is backfilled.
        approvals = DynamoApprovalStore(client, template.table_name(APPROVALS_TABLE))
        if not approvals.status_keys_complete():
            approvals.backfill_status_keys(has_time=lambda: True)
            log.info("status keys of %s complete", template.table_name(APPROVALS_TABLE))
        for content in seeds:
            load_seed(client, template.table_name(DIRECTORY_TABLE), content)
            log.info("seeded %s", summary(content))
    except StoreError as error:
        raise CliError(str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise CliError(f"DynamoDB at {client.meta.endpoint_url} refused: {error}") from None


def _log_to_stderr() -> None:
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0 to 65535): {value}")
    return port


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {value}")
    return seconds


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1: {value!r}")
    return int(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="approvals-local", description=__doc__)
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")

    run = commands.add_parser("serve", help="serve the API of template.yaml over HTTP")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=_port, default=3000, help="0 picks a free port (default 3000)")
    run.add_argument(
        "--seed",
        action="append",
        type=Path,
        metavar="FILE",
        help="seed file to load (repeatable; default: the demo seed)",
    )
    run.add_argument("--dynamodb-endpoint", metavar="URL", help="use this DynamoDB instead of the embedded one")
    run.add_argument(
        "--schedule-interval",
        type=_positive_seconds,
        metavar="SECONDS",
        help="run every Schedule event this often instead of at its rate",
    )
    run.add_argument(
        "--events-file",
        type=Path,
        metavar="FILE",
        help="append each event published on the template's buses to FILE as a JSON line (default: stdout)",
    )
    run.add_argument(
        "--containers",
        type=_positive_int,
        default=DEFAULT_CONTAINERS,
        metavar="N",
        help=f"concurrent invocations, each in a process of its own (default {DEFAULT_CONTAINERS})",
    )
    run.add_argument(
        "--webhook-secret",
        action="append",
        metavar="TENANT=SECRET",
        help="the secret that signs TENANT's Emporix webhooks (repeatable)",
    )
    run.add_argument(
        "--throttle",
        action="store_true",
        help="throttle as the template's stage does (ThrottlingRateLimit/BurstLimit per route, 429 beyond); "
        "off by default, so load tests measure the service",
    )
    run.set_defaults(command=serve)

    issue = commands.add_parser("token", help="print an access token that serve accepts")
    issue.add_argument("--tenant", required=True)
    issue.add_argument("--user", required=True, help="the customer id (sub)")
    issue.add_argument("--scope", action="append", metavar="S", help="repeatable (default: all four approval scopes)")
    issue.add_argument(
        "--group",
        action="append",
        metavar="G",
        help="repeatable; without it the service takes the groups from the directory",
    )
    issue.add_argument(
        "--ttl", type=int, default=3600, metavar="SECONDS", help="lifetime (default 3600; negative: already expired)"
    )
    issue.set_defaults(command=token)

    load = commands.add_parser("seed", help="load a seed file into a running serve's store")
    load.add_argument("file", type=Path, metavar="FILE")
    where = load.add_mutually_exclusive_group()
    where.add_argument("--port", type=_port, help="the serve listening on this port (default: the latest started)")
    where.add_argument("--url", metavar="URL", help="the serve at this URL, e.g. http://127.0.0.1:3000")
    where.add_argument(
        "--table",
        metavar="NAME",
        help="an existing directory table, e.g. a deployed stack's DirectoryTableName, with your AWS credentials",
    )
    load.add_argument(
        "--dynamodb-endpoint",
        metavar="URL",
        help="this DynamoDB instead of a serve's store (with --table: its endpoint)",
    )
    load.set_defaults(command=seed)

    call = commands.add_parser("invoke", help="run one function of template.yaml with an event, like sam local invoke")
    call.add_argument("function", metavar="FUNCTION", help="logical id, e.g. CreateApprovalFunction")
    call.add_argument("--event", metavar="FILE", help="event JSON, - for stdin (default: events/<function>.json)")
    call.add_argument(
        "--dynamodb-endpoint", metavar="URL", help="default: an embedded store with the demo seed, for this call only"
    )
    call.set_defaults(command=invoke)
    return parser


if __name__ == "__main__":
    sys.exit(main())
