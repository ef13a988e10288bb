"""Compare a dataset's layout with the one LeRobot itself wrote (shared/fixtures/lerobot_so100_v3, beside the repo)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

FIXTURE = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'fixtures' / 'lerobot_so100_v3').resolve()


def assert_lerobot_layout(root: Path) -> None:
    """Same files, parquet schemas, info.json fields and stats structure as the dataset LeRobot wrote."""
    if not FIXTURE.is_dir():
        pytest.skip(f'the LeRobot-written fixture is not beside the repository: {FIXTURE}')

    def files(r):
        return sorted(str(p.relative_to(r)) for p in r.rglob('*') if p.is_file() and p.name != 'README.md')

    assert files(root) == files(FIXTURE)
    for rel in ('data/chunk-000/file-000.parquet', 'meta/episodes/chunk-000/file-000.parquet', 'meta/tasks.parquet'):
        assert [(f.name, str(f.type)) for f in pq.read_schema(root / rel)] == [
            (f.name, str(f.type)) for f in pq.read_schema(FIXTURE / rel)], rel
    mine, theirs = (json.loads((r / 'meta/info.json').read_text()) for r in (root, FIXTURE))
    assert list(mine) == list(theirs) and list(mine['features']) == list(theirs['features'])
    for key, f in theirs['features'].items():
        g = mine['features'][key]
        assert (g['dtype'], g['names'], sorted(g.get('info', {}))) == (f['dtype'], f['names'], sorted(f.get('info', {}))), key
    mine, theirs = (json.loads((r / 'meta/stats.json').read_text()) for r in (root, FIXTURE))
    assert {k: list(v) for k, v in mine.items()} == {k: list(v) for k, v in theirs.items()}
    for key in theirs:
        for stat in theirs[key]:
            assert np.shape(mine[key][stat]) == np.shape(theirs[key][stat]), (key, stat)
