"""Inspection-round reports (巡检报告) as HTML, PDF and XLSX, in Chinese or English."""

from shugu.monitor.reports.catalog import CATALOG, Lang, text
from shugu.monitor.reports.render import MEDIA_TYPES, Format, render_day, render_round

__all__ = ["CATALOG", "MEDIA_TYPES", "Format", "Lang", "render_day", "render_round", "text"]
