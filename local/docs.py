"""The API's documentation as local mode serves it, without a token: the project's openapi.yaml at
``/approval/openapi.yaml`` and Swagger UI at ``/approval/docs``.

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package and are served from here, so the
page works offline: it loads nothing from another origin.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from werkzeug.wrappers import Response

from .template import find_root

DOCUMENT_PATH = "/approval/openapi.yaml"
PAGE_PATH = "/approval/docs"
INITIALIZER_PATH = "/approval/docs/init.js"
STATIC_PREFIX = "/approval/docs/static/"

# The bundle's folder is flat: a file name, nothing that climbs out of it.
_STATIC_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".map": "application/json",
    ".html": "text/html; charset=utf-8",
}
# Everything the page loads comes from this server; Swagger UI sets inline styles and data: images.
_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

_PAGE = f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Approval Service API</title>
    <link rel="stylesheet" href="{STATIC_PREFIX}swagger-ui.css">
    <link rel="icon" type="image/png" href="{STATIC_PREFIX}favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="{STATIC_PREFIX}swagger-ui-bundle.js"></script>
    <script src="{INITIALIZER_PATH}"></script>
  </body>
</html>
"""

_INITIALIZER = f"""window.addEventListener("load", function () {{
  window.ui = SwaggerUIBundle({{
    url: {json.dumps(DOCUMENT_PATH)},
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  }});
}});
"""


PATHS = frozenset({DOCUMENT_PATH, PAGE_PATH, PAGE_PATH + "/", INITIALIZER_PATH})


def is_docs_path(raw_path: str) -> bool:
    return raw_path in PATHS or raw_path.startswith(STATIC_PREFIX)


def docs_response(raw_path: str) -> Response:
    """The answer to a GET of a documentation path (``is_docs_path``)."""
    if raw_path in (PAGE_PATH, PAGE_PATH + "/"):
        return _text(_PAGE, "text/html; charset=utf-8", {"Content-Security-Policy": _PAGE_POLICY})
    if raw_path == INITIALIZER_PATH:
        return _text(_INITIALIZER, _CONTENT_TYPES[".js"])
    if raw_path == DOCUMENT_PATH:
        document = find_root() / "openapi.yaml"
        if not document.is_file():
            return _not_found()
        return Response(document.read_bytes(), status=200, content_type="application/yaml; charset=utf-8")
    name = raw_path.removeprefix(STATIC_PREFIX)
    folder = _swagger_ui()
    asset = folder / name if folder is not None and _STATIC_NAME.fullmatch(name) else None
    if asset is None or not asset.is_file():
        return _not_found()
    suffix = name[name.rfind(".") :]
    response = Response(asset.read_bytes(), status=200, content_type=_CONTENT_TYPES.get(suffix, "text/plain"))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@lru_cache(maxsize=1)
def _swagger_ui() -> Traversable | None:
    """The folder of Swagger UI's static files in the installed bundle (vendor/swagger-ui-X.Y.Z);
    None without the package (``pip install -e ".[local]"`` installs it)."""
    try:
        vendor = files("swagger_ui_bundle") / "vendor"
        folders = sorted(entry.name for entry in vendor.iterdir() if entry.name.startswith("swagger-ui-"))
    except (ModuleNotFoundError, FileNotFoundError):
        return None
    return vendor / folders[-1] if folders else None


def _text(body: str, content_type: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(body.encode("utf-8"), status=200, content_type=content_type)
    response.headers["Cache-Control"] = "no-cache"
    response.headers.update(headers or {})
    return response


def _not_found() -> Response:
    return Response(json.dumps({"message": "Not Found"}), status=404, content_type="application/json")
