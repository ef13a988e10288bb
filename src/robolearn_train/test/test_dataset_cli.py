"""`dataset info / validate / plot` on LeRobot's fixture and on deliberately broken copies of it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from robolearn_core.dataset.validate import validate

FIXTURE = (Path(__file__).resolve().parents[3] / '..' / 'shared' / 'fixtures' / 'lerobot_so100_v3').resolve()
pytestmark = pytest.mark.skipif(not FIXTURE.is_dir(), reason='fixture missing')


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(['dataset', *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def copy(tmp_path) -> Path:
    dst = tmp_path / 'ds'
    shutil.copytree(FIXTURE, dst)
    for p in dst.rglob('*'):
        p.chmod(0o755 if p.is_dir() else 0o644)
    dst.chmod(0o755)
    return dst


def test_info_and_validate_on_the_fixture():
    out = run('info', str(FIXTURE), '--json')
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert (info['episodes'], info['frames'], info['fps']) == (4, 210, 30)
    assert info['tasks'] == ['pick the cube', 'place the cube', 'push the cube']
    assert info['cameras'] == {'observation.images.front': '128x96 av1', 'observation.images.wrist': '96x72 av1'}
    text = run('info', str(FIXTURE), '--episodes')
    assert 'observation.state: float32 [6]' in text.stdout and '3: 30 frames' in text.stdout
    out = run('validate', str(FIXTURE))
    assert out.returncode == 0 and 'valid LeRobot v3.0 dataset' in out.stdout, out.stdout


def _edit_json(path: Path, fn) -> None:
    obj = json.loads(path.read_text())
    fn(obj)
    path.write_text(json.dumps(obj))


def test_broken_copies_name_every_problem(copy):
    # 1. info.json totals and a video's resolution disagree with the files
    _edit_json(copy / 'meta/info.json', lambda i: (i.update(total_frames=999),
                                                    i['features']['observation.images.wrist'].update(shape=[70, 96, 3])))
    # 2. a stats entry is missing
    _edit_json(copy / 'meta/stats.json', lambda s: (s['action'].pop('q99'), s['timestamp'].update(count=[200])))
    # 3. a video file is gone
    (copy / 'videos/observation.images.front/chunk-000/file-000.mp4').unlink()
    # 4. the data file lost its last row and has a frame_index out of order
    table = pq.read_table(copy / 'data/chunk-000/file-000.parquet')
    fi = table.column('frame_index').to_pylist()
    fi[3], fi[4] = fi[4], fi[3]
    table = table.set_column(table.column_names.index('frame_index'), 'frame_index', pa.array(fi, pa.int64()))
    pq.write_table(table.slice(0, 209), copy / 'data/chunk-000/file-000.parquet')

    out = run('validate', str(copy))
    assert out.returncode == 1
    problems = [line for line in out.stdout.splitlines() if line.startswith('problem:')]
    text = '\n'.join(problems)
    assert 'total_frames 999 but the episodes add up to 210' in text
    assert "video feature 'observation.images.wrist' shape [70, 96, 3] disagrees with its info 72x96" in text
    assert "meta/stats.json: 'action' has no 'q99'" in text
    assert "meta/stats.json: 'timestamp' count [200] but the dataset has 999 frames" in text
    assert 'videos/observation.images.front/chunk-000/file-000.mp4: missing (episodes [0, 1, 2, 3]' in text
    assert 'episode 0 frame_index is not 0..59 in order' in text
    assert 'episode 3 has 29 rows, meta/episodes says length 30' in text
    assert 'videos/observation.images.wrist/chunk-000/file-000.mp4: 72x96 pixels, info.json shape [70, 96, 3]' in text
    assert f'{len(problems)} problem(s)' in out.stdout


def test_validate_catches_episode_metadata_and_task_errors(copy):
    path = copy / 'meta/episodes/chunk-000/file-000.parquet'
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[2]['dataset_from_index'] = 100
    rows[3]['tasks'] = ['fly to the moon']
    rows[1]['videos/observation.images.wrist/to_timestamp'] = 9.0
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    rep = validate(copy)
    text = '\n'.join(rep.problems)
    assert 'episode 2: dataset_from_index 100, expected 105' in text
    assert "episode 3: task 'fly to the moon' is not in meta/tasks.parquet" in text
    assert 'episode 1 spans 7.000 s' in text
    assert 'episodes 1 and 2 overlap' in text
    assert not validate(FIXTURE).problems


def test_not_a_dataset(tmp_path):
    out = run('validate', str(tmp_path))
    assert out.returncode == 1 and 'meta/info.json is missing' in out.stdout
    out = run('info', str(tmp_path))
    assert out.returncode == 2 and 'no meta/info.json' in out.stderr


def test_plot_writes_joint_curves_and_contact_sheet(tmp_path):
    out = run('plot', str(FIXTURE), '--episode', '2', '--out', str(tmp_path), '--frames', '4')
    assert out.returncode == 0, out.stderr
    joints, frames = tmp_path / 'episode_2_joints.png', tmp_path / 'episode_2_frames.png'
    import matplotlib.image as mpimg

    sheet = mpimg.imread(frames)
    assert mpimg.imread(joints).shape[0] > 200 and sheet.shape[1] > 300
    # the front camera of episode 2 is green (60 * 2 / 255): the sheet has green pixels
    assert ((sheet[..., 1] > 0.4) & (sheet[..., 0] < 0.2)).sum() > 1000
    out = run('plot', str(FIXTURE), '--episode', '9', '--out', str(tmp_path))
    assert out.returncode == 2 and 'episodes [9] do not exist' in out.stderr
