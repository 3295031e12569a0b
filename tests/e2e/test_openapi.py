"""openapi.yaml describes the service as it is: a valid OpenAPI document, the routes and scopes of
template.yaml, schemas that agree with the pydantic models, the service's error codes and limits;
and local mode serves it, with Swagger UI, from its own files."""

from __future__ import annotations

import http.client
import inspect
import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from openapi_spec_validator import validate
from pydantic import BaseModel

from approval_core.api import http as edge
from approval_core.api.settings import MAX_BODY_BYTES
from approval_core.domain import bulk, errors, models, patch
from approvals_local.template import load_template
from tests.e2e.support import ROOT

DOCUMENT = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Models that never cross the wire (the resource lock, the sweep's index entry).
INTERNAL_MODELS = {"Model", "ResourceApproval", "OverdueApproval"}
# What the service only sends, never reads: their amounts are always numbers, nothing is null.
RESPONSE_ONLY = {
    "Money",
    "Price",
    "Reference",
    "Item",
    "SubtotalAggregate",
    "Resource",
    "Person",
    "Metadata",
    "HistoryEntry",
    "FlowStep",
    "FlowApproval",
    "FlowTier",
    "FlowPolicy",
    "Approval",
    "PermittedAnswer",
    "ApproverCandidate",
}
# The document's own schemas: the HTTP edge's bodies, with no model behind them.
DOCUMENT_ONLY = {
    "Identifier",
    "RequestAmount",
    "CreatedApproval",
    "PatchOperation",
    "PatchRequest",
    "Error",
    "ErrorDetail",
    "GatewayMessage",
    "NotFound",
    "DirectoryWrite",
    "BulkDecisionResult",
    "BulkDecisionAnswer",
    "Policy",
}


def wire_models() -> dict[str, type[BaseModel]]:
    return {
        name: value
        for module in (models, bulk)
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, BaseModel)
        and value.__module__ == module.__name__
        and name not in INTERNAL_MODELS
    }


def wire_enums() -> dict[str, type[StrEnum]]:
    return {
        name: value
        for name, value in vars(models).items()
        if inspect.isclass(value) and issubclass(value, StrEnum) and value.__module__ == models.__name__
    }


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def resolve(reference: str) -> Any:
    node: Any = DOCUMENT
    for part in reference.removeprefix("#/").split("/"):
        node = node[part]
    return node


# --------------------------------------------------------------------------- the document itself
def test_the_document_is_valid_openapi() -> None:
    validate(DOCUMENT)  # raises on the first problem
    assert DOCUMENT["openapi"].startswith("3.1")


def test_every_route_of_the_template_is_in_the_document_and_vice_versa() -> None:
    routes = {(route.method, route.path): route for route in load_template(ROOT / "template.yaml").routes}
    documented = {(method, path): operation for method, path, operation in operations()}
    assert set(documented) == set(routes)
    for key, operation in documented.items():
        route = routes[key]
        # Each alternative of the security requirement is one scope, any of them suffices.
        alternatives = operation.get("security", DOCUMENT.get("security", []))
        scopes = {scope for requirement in alternatives for scopes in requirement.values() for scope in scopes}
        assert route.authorized == bool(alternatives), key
        assert scopes == set(route.scopes), key
        assert all(len(requirement) == 1 and "bearerAuth" in requirement for requirement in alternatives), key


def test_every_path_parameter_is_declared_and_every_operation_answers_401_403_and_503() -> None:
    for method, path, operation in operations():
        declared = {
            parameter["name"]
            for parameter in (resolve(p["$ref"]) if "$ref" in p else p for p in operation.get("parameters", []))
            if parameter["in"] == "path"
        }
        assert declared == set(re.findall(r"\{(\w+)\}", path)), (method, path)
        assert {"401", "403", "404", "503"} <= set(operation["responses"]), (method, path)
        success = {code for code in operation["responses"] if code.startswith("2")}
        assert len(success) == 1, (method, path)
        if method in ("POST", "PATCH"):
            assert operation["requestBody"]["required"] is True, (method, path)
            assert "413" in operation["responses"], (method, path)


# --------------------------------------------------------------------------- the models
def facet(schema: Any, resolver: Callable[[str], tuple[str, Any]]) -> dict[str, Any]:
    """What a property's schema allows, in one comparable form, whichever way it is spelt (pydantic
    writes ``anyOf [X, null]``, the document ``type: [x, "null"]``). A reference to an object
    schema stays its name; a reference to anything else (an enum, Identifier) is inlined."""
    if schema is True or schema == {}:
        return {"any": True}
    result: dict[str, Any] = {"types": set(), "nullable": False}
    if "$ref" in schema:
        name, target = resolver(schema["$ref"])
        if "properties" in target or "anyOf" in target:
            result["object"] = name
            return result
        schema = {**target, **{key: value for key, value in schema.items() if key != "$ref"}}
    for branch in schema.get("anyOf", []):
        inner = facet(branch, resolver)
        result["types"] |= inner.pop("types", set())
        result["nullable"] |= inner.pop("nullable", False)
        result.update(inner)
    types = schema.get("type", [])
    for kind in [types] if isinstance(types, str) else types:
        if kind == "null":
            result["nullable"] = True
        else:
            result["types"].add(kind)
    if "enum" in schema:
        result["enum"] = {value for value in schema["enum"] if value is not None}
        result["nullable"] |= None in schema["enum"]
        result["types"].add("string")
    for keyword in ("maxLength", "minLength", "pattern", "minItems", "maxItems"):
        if keyword in schema:
            result[keyword] = schema[keyword]
    if "minimum" in schema:
        result["minimum"] = float(schema["minimum"])
    if "items" in schema:
        result["items"] = facet(schema["items"], resolver)
    if schema.get("additionalProperties") is False:
        result["closed"] = True
    return result


def model_facets(model: type[BaseModel]) -> tuple[dict[str, dict[str, Any]], set[str], bool]:
    schema = model.model_json_schema(mode="validation")
    definitions = schema.get("$defs", {})

    def resolver(reference: str) -> tuple[str, Any]:
        name = reference.rsplit("/", 1)[-1]
        return name, definitions[name]

    properties = {name: facet(value, resolver) for name, value in schema["properties"].items()}
    return properties, set(schema.get("required", [])), schema.get("additionalProperties") is False


def document_facets(name: str) -> tuple[dict[str, dict[str, Any]], set[str], bool]:
    schema = SCHEMAS[name]

    def resolver(reference: str) -> tuple[str, Any]:
        return reference.rsplit("/", 1)[-1], resolve(reference)

    properties = {key: facet(value, resolver) for key, value in schema["properties"].items()}
    return properties, set(schema.get("required", [])), schema.get("additionalProperties") is False


def as_sent(properties: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A response-only model as the service writes it: Decimal as a JSON number, no nulls."""

    def sent(value: dict[str, Any]) -> dict[str, Any]:
        value = {**value, "nullable": False}
        if value.get("types") == {"number", "string"}:
            value["types"] = {"number"}
        if "items" in value:
            value["items"] = sent(value["items"])
        return value

    return {name: sent(value) for name, value in properties.items()}


@pytest.mark.parametrize("name", sorted(wire_models()))
def test_each_model_has_a_component_schema_that_agrees_with_it(name: str) -> None:
    assert name in SCHEMAS, f"openapi.yaml has no components.schemas.{name}"
    model_properties, model_required, model_closed = model_facets(wire_models()[name])
    document_properties, document_required, document_closed = document_facets(name)
    if name in RESPONSE_ONLY:
        model_properties, document_properties = as_sent(model_properties), as_sent(document_properties)
    assert set(document_properties) == set(model_properties)
    assert document_required == model_required
    assert document_closed == model_closed
    for field, expected in model_properties.items():
        assert document_properties[field] == expected, f"{name}.{field}"


def test_every_component_schema_is_a_model_an_enum_or_the_documents_own() -> None:
    assert set(SCHEMAS) == set(wire_models()) | set(wire_enums()) | DOCUMENT_ONLY


@pytest.mark.parametrize("name", sorted(wire_enums()))
def test_each_enum_has_a_component_schema_with_its_values(name: str) -> None:
    assert SCHEMAS[name] == {"type": "string", "enum": [member.value for member in wire_enums()[name]]}


def test_identifier_and_comment_limits_are_the_models() -> None:
    identifier = facet(SCHEMAS["Identifier"], lambda reference: ("", resolve(reference)))
    expected = facet(models.CreateApprovalRequest.model_json_schema()["properties"]["resourceId"], lambda r: ("", {}))
    assert identifier == expected
    assert SCHEMAS["Approval"]["properties"]["comment"]["maxLength"] == models.MAX_COMMENT_LENGTH
    assert SCHEMAS["Address"]["properties"]["zipCode"]["maxLength"] == 11


def test_patch_operations_are_those_the_service_reads() -> None:
    op = re.compile(SCHEMAS["PatchOperation"]["properties"]["op"]["pattern"])
    for value in patch.Op:
        for spelling in (value.upper(), value.lower(), value.capitalize()):
            assert op.search(spelling), spelling
    for other in ("move", "copy", "test", "", "adds", " add"):
        assert not op.search(other), other
    assert SCHEMAS["PatchRequest"]["anyOf"][0]["minItems"] == 1


# --------------------------------------------------------------------------- errors and limits
def test_the_error_codes_documented_are_the_services() -> None:
    service_codes = {
        cls.error_code
        for cls in vars(errors).values()
        if inspect.isclass(cls) and issubclass(cls, errors.ApprovalError) and cls.error_code
    }
    table = SCHEMAS["Error"]["properties"]["errorCode"]["description"]
    documented = set(re.findall(r"APPROVAL-\d{6}", table))
    assert documented == service_codes
    pattern = re.compile(SCHEMAS["Error"]["properties"]["errorCode"]["pattern"])
    assert all(pattern.fullmatch(code) for code in service_codes)
    statuses = {
        str(cls.status)
        for cls in vars(errors).values()
        if inspect.isclass(cls) and issubclass(cls, errors.ApprovalError) and cls is not errors.ApprovalError
    }
    responded = {code for _, _, operation in operations() for code in operation["responses"]}
    assert statuses <= responded


def test_error_detail_has_the_services_fields() -> None:
    fields = set(inspect.signature(errors.ErrorDetail).parameters)
    documented = set(SCHEMAS["ErrorDetail"]["properties"])
    assert fields <= documented
    assert documented - fields == {"moreInfo"}  # the contract's, which the service never fills


def test_tenant_pattern_and_body_limit_are_the_services() -> None:
    tenant = DOCUMENT["components"]["parameters"]["tenant"]["schema"]["pattern"]
    assert tenant == edge.TENANT_PATTERN.pattern
    assert MAX_BODY_BYTES == 256 * 1024
    assert "256 KiB" in DOCUMENT["components"]["responses"]["PayloadTooLarge"]["description"]


@pytest.mark.parametrize("name", ["pageNumber", "pageSize"])
def test_paging_bounds_and_defaults_are_the_services(name: str) -> None:
    schema = DOCUMENT["components"]["parameters"][name]["schema"]

    def read(value: str | None) -> int:
        parameters = {} if value is None else {name: value}
        request = edge.parse_list_request(edge.GatewayEvent({"queryStringParameters": parameters, "headers": {}}))
        return request.page_number if name == "pageNumber" else request.page_size

    assert read(None) == schema["default"]
    if DOCUMENT["components"]["parameters"][name].get("allowEmptyValue"):
        assert read("") == schema["default"]
    assert read(str(schema["minimum"])) == schema["minimum"]
    assert read(str(schema["maximum"])) == schema["maximum"]
    for outside in (schema["minimum"] - 1, schema["maximum"] + 1):
        with pytest.raises(errors.ValidationFailed):
            read(str(outside))


# --------------------------------------------------------------------------- served by local mode
class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls.extend(value for name, value in attrs if name in ("src", "href") and value)


@pytest.mark.e2e
@pytest.mark.xdist_group("e2e")
def test_local_mode_serves_the_document_without_a_token(base_url: str) -> None:
    response = requests.get(f"{base_url}/approval/openapi.yaml", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/yaml")
    assert response.content == (ROOT / "openapi.yaml").read_bytes()


@pytest.mark.e2e
@pytest.mark.xdist_group("e2e")
def test_local_mode_serves_swagger_ui_from_its_own_files(base_url: str) -> None:
    page = requests.get(f"{base_url}/approval/docs", timeout=30)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    links = _Links()
    links.feed(page.text)
    assert links.urls, "the page loads nothing"
    kinds = set()
    for url in links.urls:
        parts = urlsplit(url)
        # Only this server: no scheme, no host, no protocol-relative //cdn...
        assert not parts.scheme, url
        assert not parts.netloc, url
        assert url.startswith("/"), url
        asset = requests.get(base_url + url, timeout=30)
        assert asset.status_code == 200, url
        assert asset.content, url
        kinds.add(asset.headers["Content-Type"].split(";")[0])
    assert {"text/javascript", "text/css"} <= kinds
    scripts = [url for url in links.urls if url.endswith(".js")]
    initializer = requests.get(base_url + scripts[-1], timeout=30).text
    assert '"/approval/openapi.yaml"' in initializer
    assert "http://" not in initializer
    assert "https://" not in initializer
    assert "validatorUrl: null" in initializer  # no badge fetched from validator.swagger.io


@pytest.mark.e2e
@pytest.mark.xdist_group("e2e")
@pytest.mark.parametrize(
    "path",
    [
        "/approval/docs/static/../../../template.yaml",
        "/approval/docs/static/%2e%2e/%2e%2e/template.yaml",
        "/approval/docs/static/..",
        "/approval/docs/static/",
        "/approval/docs/static/no-such-file.js",
        "/approval/docs/static/.hidden",
    ],
)
def test_local_mode_serves_nothing_else_under_the_docs(base_url: str, path: str) -> None:
    # http.client sends the path as written: requests would resolve the dots first.
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 404, path
        response.read()
    finally:
        connection.close()
