"""`shugu anomaly …`: score a CSV with shugu's streaming anomaly detector."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import numpy.typing as npt
import typer

from shugu.domain.formula_guard import inert
from shugu.monitor.anomaly import (
    CAUSES,
    DEFAULT_PARAMS,
    DEFAULT_SENSITIVITY,
    PATTERN_SENSITIVITY,
    WITH_PATTERN,
    explain_series,
)
from shugu.monitor.anomaly_plant import PlantParams, score_plant


class InputError(ValueError):
    """A CSV the command cannot use; the message names the line and says what is wrong."""


def parse_timestamp(text: str) -> int:
    """Epoch milliseconds from epoch ms digits, ``2014-02-14 14:30:00`` or ISO 8601.

    A time without an offset is taken as UTC.
    """
    raw = text.strip()
    if raw.lstrip("-").isdigit():
        value = int(raw)
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"{raw} is beyond 64-bit milliseconds")
        return value
    stamp = datetime.fromisoformat(raw)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1000)


def _parse_value(text: str) -> float:
    # An empty cell is a missing reading: the detector skips it rather than failing the file.
    return math.nan if text.strip() == "" else float(text)


def read_table(
    path: Path, columns: list[str]
) -> tuple[list[list[str]], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Rows as read, their epoch-ms timestamps and a (rows × columns) float table."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise InputError(f"{path}: the file is empty (a header line is needed)")
            names = [h.strip() for h in header]
            wanted = ["timestamp", *columns]
            missing = [c for c in wanted if c not in names]
            if missing:
                raise InputError(
                    f"{path}: line 1: missing column(s) {', '.join(missing)} "
                    f"(the header has {', '.join(names)})"
                )
            index = [names.index(c) for c in wanted]
            rows: list[list[str]] = []
            stamps: list[int] = []
            table: list[list[float]] = []
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) < len(names):
                    raise InputError(
                        f"{path}: line {line}: {len(row)} fields, the header has {len(names)}"
                    )
                cells = [row[i] for i in index]
                try:
                    stamps.append(parse_timestamp(cells[0]))
                except ValueError:
                    raise InputError(
                        f"{path}: line {line}: cannot read timestamp {cells[0]!r} "
                        "(use 2014-02-14 14:30:00, ISO 8601 or epoch milliseconds)"
                    ) from None
                try:
                    table.append([_parse_value(c) for c in cells[1:]])
                except ValueError:
                    raise InputError(
                        f"{path}: line {line}: a value is not a number: {cells[1:]!r}"
                    ) from None
                rows.append(cells)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as exc:
        # A field longer than csv.field_size_limit(), say: the reader names the line it was on.
        raise InputError(f"{path}: line {reader.line_num}: {exc}") from None
    ts = np.array(stamps, dtype=np.int64)
    values = np.array(table, dtype=np.float64).reshape(len(rows), len(columns))
    return rows, ts, values


def register(app: typer.Typer) -> None:
    """Add the `anomaly` command group to the `shugu` command."""
    anomaly = typer.Typer(help="Anomaly detection on CSV files.", no_args_is_help=True)
    app.add_typer(anomaly, name="anomaly")

    @anomaly.command("score")
    def score(
        source: Annotated[Path, typer.Argument(help="input CSV: timestamp,value (or --columns)")],
        target: Annotated[Path, typer.Argument(help="output CSV")],
        sensitivity: Annotated[
            float | None,
            typer.Option(
                min=0.0,
                max=1.0,
                help="0..1: an alarm fires when the score ≥ 1 − sensitivity "
                f"(default {PATTERN_SENSITIVITY} on one column, {DEFAULT_SENSITIVITY} with "
                "--no-pattern or --columns)",
            ),
        ] = None,
        columns: Annotated[
            str | None,
            typer.Option(help="comma-separated columns of one device, scored together"),
        ] = None,
        conditions: Annotated[
            str | None,
            typer.Option(
                help="with --columns: comma-separated columns of what the device is given (the "
                "weather, its load); the --columns are judged against them, they are not judged"
            ),
        ] = None,
        fit_rows: Annotated[
            int,
            typer.Option(min=8, help="with --columns: rows of normal running the model learns"),
        ] = 400,
        pattern: Annotated[
            bool | None,
            typer.Option(
                "--pattern/--no-pattern",
                help="one column: judge the series' pattern too (how surprising the next value "
                "range is after the last few; on by default for one column)",
                show_default=False,
            ),
        ] = None,
        explain: Annotated[
            bool,
            typer.Option(
                help="add a column saying what drove the score: with --columns a `driver` "
                "(the sensor), else a `cause` (spike, level_shift, unusual_sequence, "
                "unusual_shape, unusual_for_time, unusual_pattern)"
            ),
        ] = False,
    ) -> None:
        """Score each row (0..1) and mark alarms, causally: row i uses rows up to i only.

        Writes timestamp, the value column(s), anomaly_score and alarm (0/1). Rows with an empty
        value, or not later than the row before, are skipped by the detector (score 0).

        One value column: alarm is 1 on the row where an alarm is raised. With --columns the
        plant detector learns the first --fit-rows rows as normal, then alarm is 1 on every row
        judged anomalous; --explain adds the sensor that drove each row's score. --conditions
        names further columns the sensors are judged against (decision 0072). With one column,
        --explain adds the statistic that drove it (empty where the score is 0).
        """
        names = [c.strip() for c in columns.split(",") if c.strip()] if columns else ["value"]
        if columns is not None and not names:
            typer.echo("--columns: give at least one column name", err=True)
            raise typer.Exit(2)
        if columns is not None and pattern is not None:
            typer.echo(
                "--pattern/--no-pattern: only for one value column, not with --columns", err=True
            )
            raise typer.Exit(2)
        given = [c.strip() for c in conditions.split(",") if c.strip()] if conditions else []
        if conditions is not None and (columns is None or not given):
            typer.echo("--conditions: give column names, with --columns", err=True)
            raise typer.Exit(2)
        if set(given) & set(names) or len(set(given)) != len(given):
            typer.echo("--conditions: each once, and none of the --columns", err=True)
            raise typer.Exit(2)
        names += given
        try:
            rows, ts, values = read_table(source, names)
        except InputError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        drivers: list[str] = []
        if columns is None:
            judged = pattern is not False
            params = WITH_PATTERN if judged else DEFAULT_PARAMS
            default = PATTERN_SENSITIVITY if judged else DEFAULT_SENSITIVITY
            one = default if sensitivity is None else sensitivity
            scores, alarms, causes = explain_series(ts, values[:, 0], one, params)
            drivers = [CAUSES[k] if k >= 0 else "" for k in causes.tolist()]
        else:
            joint = DEFAULT_SENSITIVITY if sensitivity is None else sensitivity
            fit = PlantParams(fit_rows=fit_rows)
            scores, alarms, which = score_plant(ts, values, joint, fit, len(given))
            drivers = [names[k] if k >= 0 else "" for k in which.tolist()]
        extra = [] if not explain else ["driver"] if columns is not None else ["cause"]
        try:
            with target.open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                head = ["timestamp", *names, "anomaly_score", "alarm", *extra]
                writer.writerow([inert(h) for h in head])
                for i, (cells, s, a) in enumerate(
                    zip(rows, scores.tolist(), alarms.tolist(), strict=True)
                ):
                    # The cells are copied text: none may reach a spreadsheet as a formula.
                    tail = [inert(drivers[i])] if extra else []
                    writer.writerow([*(inert(c) for c in cells), f"{s:.6f}", int(a), *tail])
        except OSError as exc:
            typer.echo(f"error: {target}: cannot write ({exc.strerror or exc})", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"{len(rows)} rows scored, {int(alarms.sum())} alarms → {target}")
