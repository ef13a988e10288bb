"""make demo's program end to end on a tiny run: record in simulation, validate, plot, train."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.harness.ros_graph import DomainLease

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_records_trains_and_reports(tmp_path):
    lease = DomainLease()
    try:
        env = {**os.environ, 'ROS_DOMAIN_ID': str(lease.domain_id), 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'}
        r = subprocess.run(['demo', '--runs', str(tmp_path), '--episodes', '2', '--policy', 'mlp', '--steps', '20'],
                           capture_output=True, text=True, timeout=600, cwd=REPO, env=env)
    finally:
        lease.release()
    assert r.returncode == 0, r.stdout + r.stderr
    (run,) = tmp_path.iterdir()
    report = json.loads((run / 'report.json').read_text())
    assert report['record']['result']['episodes'] == 2
    assert (run / 'dataset' / 'meta' / 'info.json').exists() and list((run / 'plots').glob('*.png'))
    assert (run / 'checkpoint').is_dir() and any((run / 'checkpoint').rglob('model.safetensors'))
    assert 'Not implemented yet' in (run / 'report.md').read_text()
