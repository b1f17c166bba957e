"""Names chosen by devices reach spreadsheets as text, never as formulas: telemetry CSV through
the API, inspection reports as XLSX, and the anomaly command's CSV.

A gateway names its metrics and devices; a name such as ``=HYPERLINK("http://…","Open report")``
in an export became a live link in whoever opened it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import FastAPI
from openpyxl import load_workbook  # type: ignore[import-untyped]
from typer.testing import CliRunner

from shugu.api.services import Services
from shugu.cli import app
from shugu.domain.formula_guard import inert, starts_formula
from shugu.domain.timeutil import utc_now_ms
from tests.api.conftest import World

HYPERLINK = '=HYPERLINK("http://evil.example/report","Open report")'
#: A metric name for each prefix a spreadsheet reads as a formula (metric names are printable,
#: so tab, CR and LF can only come in other ways; see the anomaly CSV below).
DANGEROUS = [HYPERLINK, "+1+1", "-2+3", "@SUM(1,2)", "=cmd|' /C calc'!A0"]


def services_of(w: World) -> Services:
    return cast(Services, cast(FastAPI, w.client.app).state.services)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(1,2)", "'@SUM(1,2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("-3.2", "-3.2"),
        ("+86", "+86"),
        ("-1e5", "-1e5"),
        ("inlet_c", "inlet_c"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_text_that_starts_a_formula_is_quoted_and_numbers_are_not(text: str, expected: str) -> None:
    assert inert(text) == expected


def _gateway_metrics(w: World) -> tuple[int, str]:
    """A generic device whose gateway named its metrics; returns (device id, its token)."""
    device, token = w.registry.create_device(w.ent_b, "=1+2", "generic", asset_id=w.site_b)
    values: dict[str, Any] = {name: 1.0 for name in DANGEROUS}
    values["plain"] = -3.2
    r = w.client.post(
        f"/api/v1/{token}/telemetry", json={"ts": utc_now_ms() - 1000, "values": values}
    )
    assert r.status_code == 200 and r.json()["accepted"] == len(values), r.text
    services_of(w).store.flush()
    return device.id, token


def _csv(w: World, url: str, **params: Any) -> list[dict[str, str]]:
    r = w.client.get(url, params={"format": "csv", **params}, headers=w.as_("admin_b"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    return list(csv.DictReader(io.StringIO(r.text)))


def test_csv_exports_quote_metric_names_that_start_a_formula(world: World) -> None:
    device, _ = _gateway_metrics(world)
    exports = {
        "device latest": _csv(world, f"/api/devices/{device}/latest"),
        "enterprise latest": _csv(world, f"/api/enterprises/{world.ent_b}/latest"),
        "device range": _csv(world, f"/api/devices/{device}/telemetry"),
        "bucketed range": _csv(
            world, f"/api/enterprises/{world.ent_b}/telemetry", bucket="1h", agg="min,max"
        ),
    }
    for what, rows in exports.items():
        metrics = {row["metric"] for row in rows}
        assert {"'" + name for name in DANGEROUS} | {"plain"} <= metrics, (what, metrics)
        assert not any(starts_formula(cell) for row in rows for cell in row.values()), what
        plain = [row for row in rows if row["metric"] == "plain"]
        number = "value" if "value" in plain[0] else "min"
        assert float(plain[0][number]) == -3.2, what  # a negative number stays a number


def test_json_and_arrow_keep_the_names_exactly(world: World) -> None:
    device, _ = _gateway_metrics(world)
    r = world.client.get(f"/api/devices/{device}/latest", headers=world.as_("admin_b"))
    assert set(DANGEROUS) <= set(r.json()["columns"]["metric"])


def test_xlsx_reports_store_formula_like_text_as_text(world: World) -> None:
    services = services_of(world)
    services.monitor.stop()
    registry = world.registry
    _, token = registry.create_device(world.ent_b, "-2+3", "rack_sensor", asset_id=world.site_b)
    r = world.client.post(
        f"/api/v1/{token}/telemetry",
        json={"ts": utc_now_ms() - 60_000, "values": {"inlet_c": 29.0}},
    )
    assert r.status_code == 200, r.text
    services.monitor.configure()
    plan = {
        "name": HYPERLINK,
        "times": ["03:00"],
        "checks": [
            {
                "label_zh": "@SUM(1,2)",
                "label_en": "+1+1",
                "devices": {"profile": "rack_sensor"},
                "metric": "inlet_c",
                "above": 27,
                "unit": "°C",
            }
        ],
    }
    r = world.client.post(
        f"/api/enterprises/{world.ent_b}/inspection-plans", json=plan, headers=world.as_("admin_b")
    )
    assert r.status_code == 201, r.text
    r = world.client.post(
        f"/api/inspection-plans/{r.json()['id']}/run", headers=world.as_("admin_b")
    )
    assert r.status_code in (200, 201), r.text
    round_id = r.json()["id"]
    day = world.client.get(
        f"/api/enterprises/{world.ent_b}/inspection-report",
        params={"format": "xlsx"},
        headers=world.as_("admin_b"),
    )
    for lang in ("zh", "en"):
        r = world.client.get(
            f"/api/inspection-rounds/{round_id}/report",
            params={"format": "xlsx", "lang": lang},
            headers=world.as_("admin_b"),
        )
        assert r.status_code == 200, r.text
        for content in (r.content, day.content):
            book = load_workbook(io.BytesIO(content))
            cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
            assert not [c.coordinate for c in cells if c.data_type == "f"]
            risky = [c for c in cells if isinstance(c.value, str) and starts_formula(c.value)]
            assert {"-2+3"} <= {c.value for c in risky}
            assert all(c.data_type == "s" and c.quotePrefix for c in risky)
            texts = {c.value for c in cells if isinstance(c.value, str)}
            assert any(HYPERLINK in t for t in texts)
        texts = {
            c.value
            for ws in load_workbook(io.BytesIO(r.content)).worksheets
            for row in ws.iter_rows()
            for c in row
            if isinstance(c.value, str)
        }
        assert ("@SUM(1,2)" if lang == "zh" else "+1+1") in texts


def test_the_anomaly_csv_quotes_copied_cells_that_start_a_formula(tmp_path: Path) -> None:
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    column = "=cmd|' /C calc'!A0"
    values = ["1.5", "-3.2", "\t-1", "2.0"] * 5
    lines = [f'timestamp,"{column}"'] + [
        f'2026-01-01 00:{minute:02d}:00,"{value}"' for minute, value in enumerate(values)
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["anomaly", "score", str(source), str(target), "--columns", column]
    )
    assert result.exit_code == 0, result.output
    with target.open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    assert header[1] == "'" + column
    assert [row[1] for row in rows[:4]] == ["1.5", "-3.2", "'\t-1", "2.0"]
    assert not any(starts_formula(cell) for row in [header, *rows] for cell in row)
