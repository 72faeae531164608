"""`/docs`: the API reference, rendered here from the OpenAPI document.

FastAPI's Swagger UI loads its script and stylesheet from a CDN, and starts
with an inline script: a blank page without a network, and against the pages'
Content-Security-Policy. This page is plain HTML made on the server, with the
app's stylesheet only: it works offline and without JavaScript. Tools read
`/openapi.json`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hitlkit._markdown import render_prompt
from hitlkit._server._templates import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_METHODS = ("get", "put", "post", "delete", "patch")


@router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request) -> HTMLResponse:
    """The API's routes, their parameters, bodies and answers, and the shapes they use."""
    spec = request.app.openapi()
    info = spec["info"]
    schemas = spec.get("components", {}).get("schemas", {})
    return render(
        request,
        "docs.html",
        page="docs",
        title=info["title"],
        version=info["version"],
        description=_markdown(info.get("description", "")),
        operations=[
            _operation(path, m, op)
            for path, item in spec["paths"].items()
            for m, op in item.items()
            if m in _METHODS
        ],
        schemas=[_schema(name, s) for name, s in schemas.items()],
        schema_names=set(schemas),
    )


def _operation(path: str, method: str, op: dict[str, Any]) -> dict[str, Any]:
    body = op.get("requestBody", {}).get("content", {})
    return {
        "anchor": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
        "method": method.upper(),
        "path": path,
        "summary": op.get("summary", ""),
        "description": _markdown(op.get("description", "")),
        "parameters": [
            {
                "name": p["name"],
                "where": p["in"],
                "required": p.get("required", False),
                "type": type_words(p.get("schema", {})),
                "description": _markdown(p.get("description", "")),
            }
            for p in op.get("parameters", [])
        ],
        "body": [(media, type_words(c.get("schema", {}))) for media, c in body.items()],
        "responses": [
            (code, _markdown(r.get("description", "")), _response_type(r))
            for code, r in op.get("responses", {}).items()
        ],
    }


def _markdown(text: str) -> Markup:
    # Written by this app's authors, and sanitized all the same, as prompts are.
    return render_prompt(text, "markdown")


def _response_type(response: dict[str, Any]) -> str:
    content = response.get("content", {})
    return ", ".join(type_words(c.get("schema", {})) for c in content.values() if c.get("schema"))


def _schema(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    required = set(schema.get("required", []))
    return {
        "name": name,
        "description": _markdown(schema.get("description", "")),
        "type": "" if "properties" in schema else type_words(schema),
        "properties": [
            (prop, type_words(s), prop in required, _markdown(s.get("description", "")))
            for prop, s in schema.get("properties", {}).items()
        ],
    }


def type_words(schema: dict[str, Any]) -> str:
    """A JSON schema in a few words: `EventInfo`, `array of string`, `integer | null`."""
    if "$ref" in schema:
        return str(schema["$ref"]).rpartition("/")[2]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " | ".join(type_words(s) for s in schema[key])
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {type_words(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        values = schema["additionalProperties"]
        return f"object of {type_words(values) if isinstance(values, dict) else 'any'}"
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)
