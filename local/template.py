"""template.yaml as local mode needs it: functions, their HTTP routes, schedules and stream event
sources, tables, event buses and queues.

This is local mode's only description of the service: routes, scopes, environment and tables are
read from the template every time, so local mode cannot drift from what is deployed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import patterns

# What CloudFormation pseudo parameters resolve to locally (moto's default account, too).
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "approvals-local"
PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::StackName": STACK_NAME,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": "",
}
TABLE_TYPE = "AWS::DynamoDB::Table"
FUNCTION_TYPE = "AWS::Serverless::Function"
HTTP_API_TYPE = "AWS::Serverless::HttpApi"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
EVENT_BUS_TYPE = "AWS::Events::EventBus"
QUEUE_TYPE = "AWS::SQS::Queue"
STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST")
# The resources local mode runs a counterpart of (tables in the store, buses and queues in the
# embedded AWS server).
LOCAL_RESOURCE_TYPES = (TABLE_TYPE, EVENT_BUS_TYPE, QUEUE_TYPE)


class TemplateError(Exception):
    """template.yaml says something local mode cannot run."""


# --------------------------------------------------------------------------- reading YAML
class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands the short intrinsic-function tags (!Ref, !GetAtt, !Sub ...)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


# --------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class Cors:
    """An HTTP API's CorsConfiguration: API Gateway answers preflights and adds the headers."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class Throttling:
    """A route's throttling: the stage's DefaultRouteSettings, or its RouteSettings entry."""

    rate_limit: float  # ThrottlingRateLimit: requests per second, steady state
    burst_limit: int  # ThrottlingBurstLimit: the token bucket's size


@dataclass(frozen=True)
class Route:
    method: str  # upper case; ANY matches every method
    path: str  # a path template: /approval/{tenant}/approvals/{approvalId}
    function: str
    authorized: bool  # behind the JWT authorizer
    scopes: tuple[str, ...] = ()  # the route's AuthorizationScopes: any one of them suffices
    cors: Cors | None = None  # its API's
    throttling: Throttling | None = None  # its stage's, for this route

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Schedule:
    function: str
    name: str
    expression: str  # rate(5 minutes), cron(...)
    enabled: bool = True
    input: str | None = None  # the event EventBridge sends instead of the Scheduled Event


@dataclass(frozen=True)
class StreamSource:
    """A function's DynamoDB event: Lambda's event source mapping on a table's stream."""

    function: str
    name: str
    table: str  # the logical id of the table whose stream it reads
    starting_position: str  # TRIM_HORIZON or LATEST
    batch_size: int = 100
    batching_window_seconds: float = 0.0
    maximum_retry_attempts: int = -1  # -1: retry until it succeeds (Lambda's default)
    report_batch_item_failures: bool = False
    bisect_on_error: bool = False  # BisectBatchOnFunctionError
    # FilterCriteria: a record reaches the function when it matches any of them (none: every record).
    filters: tuple[dict[str, Any], ...] = ()
    on_failure: str | None = None  # DestinationConfig.OnFailure.Destination (an ARN)
    enabled: bool = True


@dataclass(frozen=True)
class QueueSource:
    """A function's SQS event: Lambda's event source mapping on a queue of the template."""

    function: str
    name: str
    queue: str  # the logical id of the queue
    batch_size: int = 10
    report_batch_item_failures: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class EventBus:
    logical_id: str
    name: str

    @property
    def arn(self) -> str:
        return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{self.name}"


@dataclass(frozen=True)
class Queue:
    logical_id: str
    name: str

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{self.name}"

    @property
    def url(self) -> str:
        # SQS takes the queue from the URL's path, so this works against any endpoint.
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{self.name}"


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: Path
    handler: str  # module.attribute, e.g. app.lambda_handler
    environment: dict[str, str]
    # Environment variables that name a table, bus or queue of the template: they must point at
    # the local one whatever the caller's environment says, or the functions would read a store
    # local mode never seeded, or publish where nobody watches.
    resource_variables: frozenset[str] = frozenset()
    memory_mb: int = 128
    timeout_seconds: int = 3
    routes: tuple[Route, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    streams: tuple[StreamSource, ...] = ()
    queue_sources: tuple[QueueSource, ...] = ()

    @property
    def module_path(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True)
class Template:
    root: Path
    parameters: dict[str, str]
    functions: dict[str, Function]
    # Logical id -> DynamoDB create_table arguments without TableName (the local name is the
    # logical id, see table_name).
    tables: dict[str, dict[str, Any]]
    routes: tuple[Route, ...] = ()
    buses: dict[str, EventBus] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    layer_paths: tuple[Path, ...] = ()  # the folders of the template's layers (ContentUri)

    @property
    def code_paths(self) -> tuple[Path, ...]:
        """Where the code the template deploys lives: the functions' and the layers' folders."""
        return (*dict.fromkeys(function.code_uri for function in self.functions.values()), *self.layer_paths)

    @staticmethod
    def table_name(logical_id: str) -> str:
        return logical_id


def load_template(path: Path) -> Template:
    return _Reader(path.parent, read_document(path)).template()


def read_document(path: Path) -> dict[str, Any]:
    """The template as YAML says it, intrinsic functions as their long forms ({"Ref": ...})."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506
    except (OSError, yaml.YAMLError) as error:
        raise TemplateError(f"cannot read {path}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path}: no Resources")
    return document


# --------------------------------------------------------------------------- interpretation
class _Reader:
    def __init__(self, root: Path, document: dict[str, Any]) -> None:
        self.root = root
        self.resources: dict[str, Any] = document["Resources"]
        self.parameters = {
            name: _text(spec.get("Default", ""))
            for name, spec in (document.get("Parameters") or {}).items()
            if isinstance(spec, dict)
        }
        self.conditions: dict[str, Any] = document.get("Conditions") or {}
        self.globals: dict[str, Any] = (document.get("Globals") or {}).get("Function") or {}

    def template(self) -> Template:
        functions = {
            logical_id: self.function(logical_id, resource.get("Properties") or {})
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == FUNCTION_TYPE
        }
        tables = {
            logical_id: _table(logical_id, resource.get("Properties") or {})
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == TABLE_TYPE
        }
        routes = tuple(route for function in functions.values() for route in function.routes)
        seen: dict[str, str] = {}
        for route in routes:
            if route.route_key in seen:
                raise TemplateError(
                    f"route {route.route_key} is declared by {seen[route.route_key]} and {route.function}"
                )
            seen[route.route_key] = route.function
        buses = {
            logical_id: EventBus(logical_id, self._bus_name(logical_id))
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == EVENT_BUS_TYPE
        }
        queues = {
            logical_id: Queue(logical_id, self._queue_name(logical_id))
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == QUEUE_TYPE
        }
        layer_uris = [
            (resource.get("Properties") or {}).get("ContentUri")
            for resource in self.resources.values()
            if resource.get("Type") == LAYER_TYPE
        ]
        layer_paths = tuple((self.root / uri).resolve() for uri in layer_uris if isinstance(uri, str))
        return Template(self.root, dict(self.parameters), functions, tables, routes, buses, queues, layer_paths)

    def function(self, logical_id: str, properties: dict[str, Any]) -> Function:
        merged = {**self.globals, **properties}
        code_uri, handler = merged.get("CodeUri"), merged.get("Handler")
        if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
            raise TemplateError(f"{logical_id}: local mode needs a CodeUri folder and a module.attribute Handler")
        variables: dict[str, Any] = {
            **((self.globals.get("Environment") or {}).get("Variables") or {}),
            **((properties.get("Environment") or {}).get("Variables") or {}),
        }
        environment = {name: self.resolve(value, f"{logical_id}: {name}") for name, value in variables.items()}
        resource_variables = frozenset(name for name, value in variables.items() if self._is_local_ref(value))
        routes: list[Route] = []
        schedules: list[Schedule] = []
        streams: list[StreamSource] = []
        queue_sources: list[QueueSource] = []
        for event_name, event in (properties.get("Events") or {}).items():
            kind, event_properties = event.get("Type"), event.get("Properties") or {}
            if kind == "HttpApi":
                routes.append(self.route(logical_id, event_name, event_properties))
            elif kind in ("Schedule", "ScheduleV2"):
                schedules.append(self.schedule(logical_id, event_name, event_properties))
            elif kind == "DynamoDB":
                streams.append(self.stream(logical_id, event_name, event_properties))
            elif kind == "SQS":
                queue_sources.append(self.queue_source(logical_id, event_name, event_properties))
        return Function(
            logical_id=logical_id,
            code_uri=(self.root / code_uri).resolve(),
            handler=handler,
            environment=environment,
            resource_variables=resource_variables,
            memory_mb=int(merged.get("MemorySize", 128)),
            timeout_seconds=int(merged.get("Timeout", 3)),
            routes=tuple(routes),
            schedules=tuple(schedules),
            streams=tuple(streams),
            queue_sources=tuple(queue_sources),
        )

    def route(self, function: str, event_name: str, properties: dict[str, Any]) -> Route:
        method, path = properties.get("Method"), properties.get("Path")
        if not isinstance(method, str) or not isinstance(path, str) or not path.startswith("/"):
            raise TemplateError(f"{function}.{event_name}: an HttpApi event needs Method and Path")
        api = self._api(properties.get("ApiId"))
        api_auth = api.get("Auth") or {}
        route_auth = properties.get("Auth") or {}
        authorizer = route_auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
        authorized = bool(authorizer) and authorizer != "NONE"
        scopes = route_auth.get("AuthorizationScopes")
        if scopes is None and authorized:
            scopes = ((api_auth.get("Authorizers") or {}).get(authorizer) or {}).get("AuthorizationScopes")
        return Route(
            method=method.upper(),
            path=path,
            function=function,
            authorized=authorized,
            scopes=tuple(str(scope) for scope in scopes or ()) if authorized else (),
            cors=self._cors(api.get("CorsConfiguration"), f"{function}.{event_name}"),
            throttling=self._throttling(api, f"{method.upper()} {path}", f"{function}.{event_name}"),
        )

    def _throttling(self, api: dict[str, Any], route_key: str, where: str) -> Throttling | None:
        """DefaultRouteSettings, overridden per route key by RouteSettings, as a stage applies them."""
        settings = {
            **(api.get("DefaultRouteSettings") or {}),
            **((api.get("RouteSettings") or {}).get(route_key) or {}),
        }
        rate, burst = settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
        if rate is None and burst is None:
            return None
        try:
            return Throttling(
                rate_limit=float(self.resolve(rate if rate is not None else "inf", f"{where}: ThrottlingRateLimit")),
                burst_limit=int(self.resolve(burst if burst is not None else 2**31, f"{where}: ThrottlingBurstLimit")),
            )
        except ValueError:
            raise TemplateError(f"{where}: ThrottlingRateLimit and ThrottlingBurstLimit must be numbers") from None

    def _api(self, api_id: Any) -> dict[str, Any]:
        """The properties of the HttpApi a route belongs to."""
        if isinstance(api_id, dict) and "Ref" in api_id:
            api = self.resources.get(api_id["Ref"]) or {}
            if api.get("Type") == HTTP_API_TYPE:
                return dict(api.get("Properties") or {})
        return {}

    def _cors(self, configuration: Any, where: str) -> Cors | None:
        if configuration is True:
            return Cors(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))
        if not isinstance(configuration, dict):
            return None

        def texts(name: str) -> tuple[str, ...]:
            # A list as written, or an intrinsic function that makes one (!Split of a parameter).
            values = self._value(configuration.get(name) or [], f"{where}: {name}")
            if not isinstance(values, list):
                raise TemplateError(f"{where}: {name} is not a list")
            return tuple(self.resolve(value, f"{where}: {name}") for value in values)

        max_age = configuration.get("MaxAge")
        return Cors(
            allow_origins=texts("AllowOrigins"),
            allow_methods=tuple(method.upper() for method in texts("AllowMethods")),
            allow_headers=texts("AllowHeaders"),
            expose_headers=texts("ExposeHeaders"),
            max_age=None if max_age is None else int(self.resolve(max_age, f"{where}: MaxAge")),
            allow_credentials=self.resolve(configuration.get("AllowCredentials", False), where) == "true",
        )

    def schedule(self, function: str, event_name: str, properties: dict[str, Any]) -> Schedule:
        where = f"{function}.{event_name}"
        expression = properties.get("Schedule", properties.get("ScheduleExpression"))
        if expression is None:
            raise TemplateError(f"{where}: a Schedule event needs a schedule expression")
        expression = self.resolve(expression, where)  # often !Ref to a parameter
        enabled = properties.get("Enabled", True) is not False and properties.get("State") != "DISABLED"
        payload = properties.get("Input")
        return Schedule(function, event_name, expression, enabled, payload if isinstance(payload, str) else None)

    def stream(self, function: str, event_name: str, properties: dict[str, Any]) -> StreamSource:
        where = f"{function}.{event_name}"

        def number(name: str, default: float) -> float:
            value = properties.get(name)
            if value is None:
                return default
            try:
                return float(self.resolve(value, f"{where}: {name}"))
            except ValueError:
                raise TemplateError(f"{where}: {name} is not a number") from None

        position = self.resolve(properties.get("StartingPosition", ""), f"{where}: StartingPosition")
        if position not in STARTING_POSITIONS:
            raise TemplateError(f"{where}: StartingPosition must be one of {', '.join(STARTING_POSITIONS)}")
        response_types = properties.get("FunctionResponseTypes") or []
        destination = ((properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        return StreamSource(
            function=function,
            name=event_name,
            table=self._stream_table(properties.get("Stream"), where),
            starting_position=position,
            batch_size=int(number("BatchSize", 100)),
            batching_window_seconds=number("MaximumBatchingWindowInSeconds", 0),
            maximum_retry_attempts=int(number("MaximumRetryAttempts", -1)),
            report_batch_item_failures="ReportBatchItemFailures" in response_types,
            bisect_on_error=self.resolve(properties.get("BisectBatchOnFunctionError", False), where) == "true",
            filters=self._filters(properties.get("FilterCriteria"), where),
            on_failure=None if destination is None else self.resolve(destination, f"{where}: OnFailure"),
            enabled=self.resolve(properties.get("Enabled", True), where) != "false",
        )

    def queue_source(self, function: str, event_name: str, properties: dict[str, Any]) -> QueueSource:
        where = f"{function}.{event_name}"
        queue = properties.get("Queue")
        argument = queue.get("Fn::GetAtt") if isinstance(queue, dict) else None
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (
            isinstance(argument, list)
            and len(argument) == 2
            and argument[1] == "Arn"
            and (self.resources.get(argument[0]) or {}).get("Type") == QUEUE_TYPE
        ):
            raise TemplateError(f"{where}: local mode reads only a template queue (!GetAtt Queue.Arn)")
        response_types = properties.get("FunctionResponseTypes") or []
        return QueueSource(
            function=function,
            name=event_name,
            queue=str(argument[0]),
            batch_size=int(self.resolve(properties.get("BatchSize", 10), f"{where}: BatchSize")),
            report_batch_item_failures="ReportBatchItemFailures" in response_types,
            enabled=self.resolve(properties.get("Enabled", True), where) != "false",
        )

    def _stream_table(self, stream: Any, where: str) -> str:
        """The table behind ``Stream: !GetAtt Table.StreamArn``: local mode reads the stream of its
        own table, whatever ARN that stream gets."""
        argument = stream.get("Fn::GetAtt") if isinstance(stream, dict) else None
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if isinstance(argument, list) and len(argument) == 2 and argument[1] == "StreamArn":
            table = self.resources.get(argument[0]) or {}
            if table.get("Type") == TABLE_TYPE:
                if not _stream_view_type(table.get("Properties") or {}):
                    raise TemplateError(f"{where}: {argument[0]} has no StreamSpecification")
                return str(argument[0])
        raise TemplateError(f"{where}: local mode reads only a template table's stream (!GetAtt Table.StreamArn)")

    def _filters(self, criteria: Any, where: str) -> tuple[dict[str, Any], ...]:
        filters = []
        for entry in (criteria or {}).get("Filters") or []:
            text = self.resolve((entry or {}).get("Pattern", ""), f"{where}: FilterCriteria")
            try:
                pattern = json.loads(text)
                patterns.check(pattern)
            except ValueError as error:
                raise TemplateError(f"{where}: FilterCriteria pattern {text!r}: {error}") from None
            filters.append(pattern)
        return tuple(filters)

    def _bus_name(self, logical_id: str) -> str:
        name = (self.resources[logical_id].get("Properties") or {}).get("Name")
        return logical_id if name is None else self.resolve(name, f"{logical_id}: Name")

    def _queue_name(self, logical_id: str) -> str:
        properties = self.resources[logical_id].get("Properties") or {}
        name = properties.get("QueueName")
        if name is not None:
            return self.resolve(name, f"{logical_id}: QueueName")
        # CloudFormation makes up a name; the logical id is the readable local one.
        fifo = self.resolve(properties.get("FifoQueue", False), logical_id) == "true"
        return f"{logical_id}.fifo" if fifo else logical_id

    # ----------------------------------------------------------------------- intrinsic functions
    def resolve(self, value: Any, where: str) -> str:
        resolved = self._value(value, where)
        if isinstance(resolved, list | dict):
            raise TemplateError(f"{where}: {value!r} is not a text value")
        return _text(resolved)

    def _value(self, value: Any, where: str) -> Any:
        if not isinstance(value, dict) or len(value) != 1:
            return value
        ((name, argument),) = value.items()
        if name == "Ref":
            return self._ref(str(argument), where)
        if name == "Fn::GetAtt":
            return self._get_att(argument, where)
        if name == "Fn::Sub":
            return self._sub(argument, where)
        if name == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_text(self._value(part, where)) for part in self._value(parts, where))
        if name == "Fn::Split":
            separator, text = argument
            return _text(self._value(text, where)).split(str(separator))  # as CloudFormation: no trimming
        if name == "Fn::Select":
            index, items = argument
            return self._value(self._value(items, where)[int(self._value(index, where))], where)
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self._value(when_true if self._condition(condition, where) else when_false, where)
        raise TemplateError(f"{where}: local mode cannot resolve {name}")

    def _ref(self, name: str, where: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        kind = (self.resources.get(name) or {}).get("Type")
        if kind == EVENT_BUS_TYPE:
            return self._bus_name(name)
        if kind == QUEUE_TYPE:
            return Queue(name, self._queue_name(name)).url
        if name in self.resources:
            # A table's local name is its logical id; other resources have no local counterpart,
            # their logical id stands in for the physical id.
            return name
        raise TemplateError(f"{where}: !Ref {name} names nothing in the template")

    def _get_att(self, argument: Any, where: str) -> str:
        resource, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
        kind = (self.resources.get(resource) or {}).get("Type")
        if kind == EVENT_BUS_TYPE and attribute in ("Arn", "Name"):
            bus = EventBus(resource, self._bus_name(resource))
            return bus.arn if attribute == "Arn" else bus.name
        if kind == QUEUE_TYPE and attribute in ("Arn", "QueueName", "QueueUrl"):
            queue = Queue(resource, self._queue_name(resource))
            return {"Arn": queue.arn, "QueueName": queue.name, "QueueUrl": queue.url}[attribute]
        if resource in self.resources and attribute == "Arn":
            if kind == TABLE_TYPE:
                return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{resource}"
            return f"arn:aws:local:{REGION}:{ACCOUNT_ID}:{resource}"
        raise TemplateError(f"{where}: local mode cannot resolve !GetAtt {resource}.{attribute}")

    def _sub(self, argument: Any, where: str) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return _text(self._value(variables[name], where))
            if "." in name:
                return self._get_att(name, where)
            return _text(self._ref(name, where))

        return re.sub(r"\$\{([^!}][^}]*)\}", replace, str(text))

    def _condition(self, condition: Any, where: str) -> bool:
        if isinstance(condition, str):
            if condition not in self.conditions:
                raise TemplateError(f"{where}: unknown condition {condition}")
            return self._condition(self.conditions[condition], where)
        if isinstance(condition, dict) and len(condition) == 1:
            ((name, argument),) = condition.items()
            if name == "Condition":
                return self._condition(argument, where)
            if name == "Fn::Equals":
                left, right = (_text(self._value(side, where)) for side in argument)
                return left == right
            if name == "Fn::Not":
                return not self._condition(argument[0], where)
            if name == "Fn::And":
                return all(self._condition(part, where) for part in argument)
            if name == "Fn::Or":
                return any(self._condition(part, where) for part in argument)
        raise TemplateError(f"{where}: local mode cannot evaluate the condition {condition!r}")

    def _is_local_ref(self, value: Any) -> bool:
        name = value.get("Ref") if isinstance(value, dict) else None
        return isinstance(name, str) and (self.resources.get(name) or {}).get("Type") in LOCAL_RESOURCE_TYPES


def _table(logical_id: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    if "KeySchema" not in properties or "AttributeDefinitions" not in properties:
        raise TemplateError(f"{logical_id}: a table needs KeySchema and AttributeDefinitions")
    definition: dict[str, Any] = {
        "KeySchema": [dict(key) for key in properties["KeySchema"]],
        "AttributeDefinitions": [dict(attribute) for attribute in properties["AttributeDefinitions"]],
    }
    billing = properties.get("BillingMode", "PROVISIONED")
    definition["BillingMode"] = billing
    if billing == "PROVISIONED":
        definition["ProvisionedThroughput"] = dict(
            properties.get("ProvisionedThroughput") or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(kind):
            definition[kind] = [_index(index, billing) for index in properties[kind]]
    view_type = _stream_view_type(properties)
    if view_type:
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
    return definition


def _stream_view_type(properties: Mapping[str, Any]) -> str | None:
    view_type = (properties.get("StreamSpecification") or {}).get("StreamViewType")
    return str(view_type) if view_type else None


def _index(index: Mapping[str, Any], billing: str) -> dict[str, Any]:
    definition = {
        "IndexName": index["IndexName"],
        "KeySchema": [dict(key) for key in index["KeySchema"]],
        "Projection": dict(index.get("Projection") or {"ProjectionType": "ALL"}),
    }
    if billing == "PROVISIONED" and "ProvisionedThroughput" in index:
        definition["ProvisionedThroughput"] = dict(index["ProvisionedThroughput"])
    return definition


def _text(value: Any) -> str:
    """Environment values are text; YAML booleans are written as CloudFormation writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def find_root(start: Path | None = None) -> Path:
    """The project root: the folder holding template.yaml, next to this package or above cwd."""
    package_root = Path(__file__).resolve().parent.parent
    if (package_root / "template.yaml").is_file():
        return package_root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "template.yaml").is_file():
            return folder
    raise TemplateError("no template.yaml here or above: run approvals-local inside the project")
