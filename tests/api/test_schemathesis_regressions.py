"""What the schemathesis run (test_schemathesis.py) found, pinned as plain tests.

No request of the run was answered with a 5xx. What it found were answers that the OpenAPI
document did not declare: shugu's error body, the Arrow and CSV answers of the telemetry routes,
the report files, and the bodies of the device API and of rules and inspection plans, which the
routes read themselves.
"""

from __future__ import annotations

from typing import Any

import pytest

from shugu.ingest.arrow_codec import ARROW_STREAM
from tests.api.conftest import World

Json = dict[str, Any]
ERROR_REF = "#/components/schemas/ErrorBody"


def _document(world: World) -> Json:
    r = world.client.get("/openapi.json")
    assert r.status_code == 200
    document: Json = r.json()
    return document


def _operations(document: Json) -> list[tuple[str, str, Json]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _schema(response: Json, media: str = "application/json") -> Json:
    schema: Json = response["content"][media]["schema"]
    return schema


def test_refusals_are_declared_with_shugus_error_body(world: World) -> None:
    document = _document(world)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        assert _schema(responses["4XX"]) == {"$ref": ERROR_REF}, (method, path)
        if "422" in responses:
            assert _schema(responses["422"]) == {"$ref": ERROR_REF}, (method, path)
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert detail["required"] == ["code", "message"]


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/devices/not-a-number", 422, "invalid_request"),
        ("/api/devices/999999", 404, "not_found"),
        ("/api/devices/99999999999999999999999", 422, "number_out_of_range"),
    ],
)
def test_refusals_match_the_declared_body(world: World, url: str, status: int, code: str) -> None:
    r = world.client.get(url, headers=world.as_("operator"))
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]


@pytest.mark.parametrize(
    ("fmt", "media"), [("json", "application/json"), ("arrow", ARROW_STREAM), ("csv", "text/csv")]
)
def test_table_formats_are_declared(world: World, fmt: str, media: str) -> None:
    document = _document(world)
    answer = document["paths"]["/api/devices/{device_id}/latest"]["get"]["responses"]["200"]
    assert media in answer["content"]
    r = world.client.get(
        f"/api/devices/{world.device_a}/latest",
        params={"format": fmt},
        headers=world.as_("admin_a"),
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media


def test_report_files_are_declared(world: World) -> None:
    document = _document(world)
    path = "/api/enterprises/{enterprise_id}/inspection-report"
    content = document["paths"][path]["get"]["responses"]["200"]["content"]
    assert set(content) == {
        "text/html",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }


def test_the_device_api_declares_what_it_reads(world: World) -> None:
    paths = _document(world)["paths"]
    telemetry = paths["/api/v1/{token}/telemetry"]["post"]
    assert "application/json" in telemetry["requestBody"]["content"]
    batch = paths["/api/v1/batch"]["post"]
    assert set(batch["requestBody"]["content"]) == {"application/json", ARROW_STREAM}
    assert [p["name"] for p in batch["parameters"]] == ["enterprise"]


def test_rules_and_plans_declare_their_models(world: World) -> None:
    document = _document(world)
    schemas = document["components"]["schemas"]
    rule_in = schemas["CustomRuleIn"]["properties"]
    assert rule_in["rule"]["$ref"] == "#/components/schemas/RuleSpec"
    assert rule_in["scope"]["$ref"] == "#/components/schemas/RuleScope"
    assert {"RuleSpec", "RuleScope", "InspectionPlan", "CheckSpec"} <= set(schemas)
    plan = document["paths"]["/api/enterprises/{enterprise_id}/inspection-plans"]["post"]
    assert _schema(plan["requestBody"]) == {"$ref": "#/components/schemas/InspectionPlan"}
