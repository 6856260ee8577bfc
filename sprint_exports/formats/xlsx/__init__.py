"""XLSX: the workbook (Summary, Issues, Team, Burndown, Velocity sheets) and its issue sheet's XML."""

from sprint_exports.formats.xlsx.workbook import render

__all__ = ["render"]
