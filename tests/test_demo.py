"""make demo's program runs end to end on a short stream and writes its report."""

import json
import os
import subprocess
from pathlib import Path

from tests.harness.ros_graph import DomainLease

REPO = Path(__file__).resolve().parents[1]


def test_demo_writes_report(tmp_path):
    lease = DomainLease()
    try:
        env = {**os.environ, 'ROS_DOMAIN_ID': str(lease.domain_id), 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'}
        r = subprocess.run(['demo', '--runs', str(tmp_path), '--seconds', '2'], capture_output=True, text=True,
                           timeout=120, cwd=REPO, env=env)
    finally:
        lease.release()
    assert r.returncode == 0, r.stdout + r.stderr
    (run,) = tmp_path.iterdir()
    report = json.loads((run / 'report.json').read_text())
    assert report['camera_graph']['problems'] == []
    for cam in ('front', 'wrist'):
        assert report['camera_graph'][cam]['frames'] > 0
        assert (run / f'{cam}_last_frame.png').stat().st_size > 0
    assert 'Not implemented yet' in (run / 'report.md').read_text()
