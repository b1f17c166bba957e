"""The OpenAPI document as shugu actually answers.

FastAPI documents a 422 with its own ``{"detail": [...]}`` body; shugu answers every refusal with
``{"error": {"code", "message", ...}}`` (see ``errors.py``) and refuses with other 4xx statuses
too (401, 403, 404, 409, 413, 429 …). This module rewrites the generated document so that every
operation declares those answers, and so that clients and schema-driven tests (schemathesis in
``tests/api/test_schemathesis.py``) can rely on it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from shugu.ingest.arrow_codec import ARROW_STREAM
from shugu.monitor.reports.render import MEDIA_TYPES
from shugu.monitor.rounds import InspectionPlan
from shugu.monitor.rules import RuleScope, RuleSpec

ERROR_REF = "#/components/schemas/ErrorBody"

ERROR_SCHEMAS: dict[str, Any] = {
    "ErrorBody": {
        "title": "ErrorBody",
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
    },
    "ErrorDetail": {
        "title": "ErrorDetail",
        "description": "A stable error code, a message a person can act on, and details "
        "(for instance the fields of the request that were refused).",
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
        "additionalProperties": True,
    },
}

_BINARY = {"type": "string", "format": "binary"}

#: The 200 answer of routes that take ``format=json|arrow|csv`` (see ``tabular.py``).
TABLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON (columnar), an Arrow IPC stream or CSV, as ``format`` asks",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            ARROW_STREAM: {"schema": _BINARY},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}

#: The 200 answer of the inspection reports: HTML, PDF or XLSX, as ``format`` asks.
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the report as ``format`` asks, with a Content-Disposition file name",
        "content": {media.split(";")[0]: {"schema": _BINARY} for media in MEDIA_TYPES.values()},
    }
}

_VALUES = {
    "type": "object",
    "description": "metric name → number (booleans count as 0/1; numeric strings are read)",
    "additionalProperties": {"type": ["number", "boolean", "string"]},
}
_TIMED = {
    "type": "object",
    "required": ["ts", "values"],
    "properties": {"ts": {"type": "integer", "description": "ms since 1970"}, "values": _VALUES},
}
_TB_TELEMETRY = {"anyOf": [_VALUES, _TIMED]}

#: ThingsBoard's HTTP device API body, read by the route itself (see ``device_routes.py``).
TELEMETRY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"anyOf": [_TB_TELEMETRY, {"type": "array", "items": _TB_TELEMETRY}]}
            }
        },
    }
}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


#: Bodies of the HTTP device API's other routes, read by the routes themselves.
ATTRIBUTES_BODY = _json_body(
    {"type": "object", "description": "client attributes: key → any JSON value"}
)
RPC_ANSWER_BODY = _json_body({"description": "the device's answer: any JSON value"})
CLIENT_RPC_BODY = _json_body(
    {
        "type": "object",
        "required": ["method"],
        "properties": {
            "method": {"type": "string", "description": "getCurrentTime or getSessionLimits"},
            "params": {"description": "any JSON value"},
        },
    }
)

#: The batch route's body and query, read by the route itself (see ``device_routes.py``).
BATCH_BODY: dict[str, Any] = {
    "parameters": [
        {
            "name": "enterprise",
            "in": "query",
            "required": False,
            "description": "the enterprise the devices belong to (operators must name it)",
            "schema": {"type": "integer"},
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "ThingsBoard gateway form: device name → list of points",
                    "additionalProperties": {
                        "anyOf": [_TB_TELEMETRY, {"type": "array", "items": _TB_TELEMETRY}]
                    },
                }
            },
            ARROW_STREAM: {
                "schema": {
                    **_BINARY,
                    "description": "columns device (name or id), metric, ts (ms), value",
                }
            },
        },
    },
}

#: Bodies that routes take as plain JSON and validate with a domain model themselves (so that
#: their errors name the field in shugu's words): the document shows the model.
_DOMAIN_MODELS: tuple[type[BaseModel], ...] = (RuleSpec, RuleScope, InspectionPlan)
_BODY_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/api/enterprises/{enterprise_id}/inspection-plans"): InspectionPlan,
    ("put", "/api/inspection-plans/{plan_id}"): InspectionPlan,
}
_PROPERTY_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("CustomRuleIn", "rule"): RuleSpec,
    ("CustomRuleIn", "scope"): RuleScope,
}

_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _add_domain_models(schemas: dict[str, Any]) -> None:
    for model in _DOMAIN_MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in {**schema.pop("$defs", {}), model.__name__: schema}.items():
            if schemas.setdefault(name, definition) != definition:
                raise ValueError(f"two different schemas are named {name} in the API document")
    for (component, prop), model in _PROPERTY_MODELS.items():
        properties = schemas[component]["properties"]
        properties[prop] = {**_ref(model), "description": properties[prop].get("description", "")}


def rewrite(document: dict[str, Any]) -> dict[str, Any]:
    """Declare shugu's error body for 422 and every other 4xx of every operation, and the
    domain models of bodies that routes validate themselves."""
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            model = _BODY_MODELS.get((method, path))
            if model is not None:
                operation["requestBody"]["content"]["application/json"]["schema"] = _ref(model)
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = error_response("the request does not match the schema")
            responses.setdefault(
                "4XX", error_response("refused: the error code and message say why")
            )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    schemas.update(ERROR_SCHEMAS)
    _add_domain_models(schemas)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the rewritten document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = rewrite(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
