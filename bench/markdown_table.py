"""Rows of figures as a markdown table: the sweeps' --table files, pasted into docs/ as they are."""

from __future__ import annotations

from collections.abc import Sequence


def markdown_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """One line per row, the given columns in order; a missing value is an empty cell."""
    lines = ['| ' + ' | '.join(columns) + ' |', '|' + ' --- |' * len(columns)]
    lines += ['| ' + ' | '.join(str(r.get(c, '')) for c in columns) + ' |' for r in rows]
    return '\n'.join(lines) + '\n'
