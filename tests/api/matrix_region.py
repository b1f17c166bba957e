"""The bureau's system's rows of the route matrix, one module per area, gathered here."""

from __future__ import annotations

from tests.api import (
    matrix_region_files,
    matrix_region_indicators,
    matrix_region_operation,
    matrix_region_policies,
    matrix_region_projects,
)
from tests.api.matrix_rows import Row

REGION_ROWS: dict[tuple[str, str], Row] = {
    **matrix_region_files.ROWS,
    **matrix_region_projects.ROWS,
    **matrix_region_policies.ROWS,
    **matrix_region_operation.ROWS,
    **matrix_region_indicators.ROWS,
}
