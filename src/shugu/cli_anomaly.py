"""`shugu anomaly …`: score a CSV with shugu's streaming anomaly detector."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `anomaly` command group to the `shugu` command."""
    anomaly = typer.Typer(help="Anomaly detection on CSV files.", no_args_is_help=True)
    app.add_typer(anomaly, name="anomaly")
