"""The writer produces LeRobot's layout, columns, metadata and stats structure, reads back, rolls over,
resumes, and loses nothing saved when killed mid-episode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from robolearn_core.dataset import commit, layout
from robolearn_core.dataset.errors import DatasetError
from robolearn_core.dataset.reader import DatasetReader
from robolearn_core.dataset.validate import validate
from robolearn_core.dataset.writer import DatasetWriter

from .test_dataset_reader_fixture import EPISODES, FIXTURE, PIXEL_TOL, check_front, expected_front, expected_state

NAMES = ['shoulder_pan.pos', 'shoulder_lift.pos', 'elbow_flex.pos', 'wrist_flex.pos', 'wrist_roll.pos', 'gripper.pos']


def fixture_features(codec: str = 'av1') -> dict:
    return {
        'observation.state': layout.vector_feature(NAMES),
        'action': layout.vector_feature(NAMES),
        'observation.images.front': layout.video_feature(96, 128, 30, codec),
        'observation.images.wrist': layout.video_feature(72, 96, 30, codec),
    }


def fixture_frame(ep: int, f: int) -> dict:
    state = expected_state(ep, f)
    return {
        'observation.state': state,
        'action': state + 1.5,
        'observation.images.front': expected_front(ep, f).astype(np.uint8),
        'observation.images.wrist': np.full((72, 96, 3), (4 * f) % 256, dtype=np.uint8),
    }


def record(root: Path, episodes, codec: str = 'av1', **kw) -> DatasetWriter:
    w = DatasetWriter(root, 30, fixture_features(codec), 'so100_follower', video_codec=codec, **kw)
    for ep, (task, length) in episodes:
        w.start_episode(task)
        for f in range(length):
            w.add_frame(fixture_frame(ep, f))
        saved = w.save_episode()
        assert saved.episode_index == ep and saved.length == length
    return w


@pytest.fixture(scope='module')
def written(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('ds') / 'so100'
    record(root, list(enumerate(EPISODES)))
    return root


def _schema_summary(path: Path) -> list[tuple[str, str]]:
    return [(f.name, str(f.type)) for f in pq.read_schema(path)]


@pytest.mark.skipif(not FIXTURE.is_dir(), reason='fixture missing')
def test_layout_columns_metadata_and_stats_structure_match_lerobot(written):
    mine = sorted(str(p.relative_to(written)) for p in written.rglob('*') if p.is_file())
    theirs = sorted(str(p.relative_to(FIXTURE)) for p in FIXTURE.rglob('*') if p.is_file() and p.name != 'README.md')
    assert mine == theirs
    info_m, info_t = (json.loads((r / 'meta/info.json').read_text()) for r in (written, FIXTURE))
    assert list(info_m) == list(info_t)
    assert info_m == info_t  # same features, sizes, totals, splits, paths, video info
    for rel in ('data/chunk-000/file-000.parquet', 'meta/episodes/chunk-000/file-000.parquet', 'meta/tasks.parquet'):
        assert _schema_summary(written / rel) == _schema_summary(FIXTURE / rel), rel
    # parquet schema metadata LeRobot relies on (datasets features; pandas index of tasks)
    hf_m = json.loads(pq.read_schema(written / 'data/chunk-000/file-000.parquet').metadata[b'huggingface'])
    hf_t = json.loads(pq.read_schema(FIXTURE / 'data/chunk-000/file-000.parquet').metadata[b'huggingface'])
    assert hf_m['info'] == hf_t['info']
    pandas_m = json.loads(pq.read_schema(written / 'meta/tasks.parquet').metadata[b'pandas'])
    assert pandas_m['index_columns'] == ['__index_level_0__']
    assert pq.ParquetFile(written / 'data/chunk-000/file-000.parquet').num_row_groups == 4  # one per episode
    # episode rows: every non-stats value identical (indices, tasks, video spans)
    rows_m = pq.read_table(written / 'meta/episodes/chunk-000/file-000.parquet').to_pylist()
    rows_t = pq.read_table(FIXTURE / 'meta/episodes/chunk-000/file-000.parquet').to_pylist()
    for rm, rt in zip(rows_m, rows_t, strict=True):
        assert {k: v for k, v in rm.items() if not k.startswith('stats/')} == {
            k: v for k, v in rt.items() if not k.startswith('stats/')}
        for k in rt:
            if k.startswith('stats/'):  # same shapes; values agree for the numeric columns
                assert np.shape(rm[k]) == np.shape(rt[k]), k
                if 'images' not in k:
                    np.testing.assert_allclose(rm[k], rt[k], rtol=1e-5, atol=1e-4, err_msg=k)
    stats_m, stats_t = (json.loads((r / 'meta/stats.json').read_text()) for r in (written, FIXTURE))
    assert sorted(stats_m) == sorted(stats_t)
    for feature in stats_t:
        assert list(stats_m[feature]) == list(stats_t[feature])
        for stat in stats_t[feature]:
            assert np.shape(stats_m[feature][stat]) == np.shape(stats_t[feature][stat]), (feature, stat)
    for k in ('min', 'max', 'mean', 'count'):
        np.testing.assert_allclose(stats_m['observation.state'][k], stats_t['observation.state'][k], rtol=1e-5)
    # images: means over the source pixels (the fixture's green = 60 ep, and the square's red)
    np.testing.assert_allclose(
        stats_m['observation.images.front']['mean'], stats_t['observation.images.front']['mean'], atol=1e-3
    )
    # video streams: AV1 yuv420p, keyframe every 2 frames, LeRobot's time base
    import av

    for key in ('front', 'wrist'):
        rel = f'videos/observation.images.{key}/chunk-000/file-000.mp4'
        with av.open(str(written / rel)) as c, av.open(str(FIXTURE / rel)) as t:
            sm, stt = c.streams.video[0], t.streams.video[0]
            assert (sm.codec_context.name, sm.codec_context.pix_fmt, sm.time_base, sm.frames, sm.duration) == (
                stt.codec_context.name,
                stt.codec_context.pix_fmt,
                stt.time_base,
                stt.frames,
                stt.duration,
            )
            keys = [p.is_keyframe for p in c.demux(sm) if p.dts is not None]
            assert keys[:6] == [True, False] * 3


def test_written_dataset_validates(written):
    rep = validate(written)
    assert rep.ok and not rep.notes, rep.problems + rep.notes


def test_reads_back_frame_for_frame(written):
    r = DatasetReader(written, cache_decoded=True)
    assert len(r) == 210 and r.num_episodes == 4
    i = 0
    for ep, (task, length) in enumerate(EPISODES):
        for f in range(length):
            item = r[i]
            assert (item['episode_index'], item['frame_index'], item['index'], item['task']) == (ep, f, i, task)
            np.testing.assert_allclose(item['action'], expected_state(ep, f) + 1.5, atol=1e-5)
            check_front(item['observation.images.front'], ep, f)
            np.testing.assert_allclose(item['observation.images.wrist'] * 255, (4 * f) % 256, atol=PIXEL_TOL)
            i += 1
    # and the uncached (seeking) path agrees with the cached one
    r2 = DatasetReader(written, episodes=[2])
    a, b = r2[37]['observation.images.front'], r[105 + 37]['observation.images.front']
    np.testing.assert_array_equal(a, b)


def test_h264_option_and_file_rollover(tmp_path):
    root = tmp_path / 'h264'
    # a tiny size limit forces a new data, video and episodes file for every episode
    w = record(
        root, list(enumerate(EPISODES[:3])), codec='h264', data_files_size_in_mb=0, video_files_size_in_mb=0, chunks_size=2
    )
    assert w.num_episodes == 3
    files = sorted(str(p.relative_to(root)) for p in (root / 'data').rglob('*.parquet'))
    assert files == ['data/chunk-000/file-000.parquet', 'data/chunk-000/file-001.parquet', 'data/chunk-001/file-000.parquet']
    assert (root / 'videos/observation.images.wrist/chunk-001/file-000.mp4').is_file()
    info = json.loads((root / 'meta/info.json').read_text())
    assert info['features']['observation.images.front']['info']['video.codec'] == 'h264'
    r = DatasetReader(root)
    assert [e['videos/observation.images.front/from_timestamp'] for e in r.episodes] == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(r[60 + 44]['observation.images.wrist'] * 255, (4 * 44) % 256, atol=PIXEL_TOL)
    check_front(r[105 + 70]['observation.images.front'], 2, 70)
    assert validate(root).ok, validate(root).problems


def test_resume_appends_and_checks_compatibility(tmp_path):
    root = tmp_path / 'resume'
    record(root, list(enumerate(EPISODES[:2]))).close()
    w = DatasetWriter(root, 30, fixture_features())  # reopen: resumes
    assert w.num_episodes == 2
    w.start_episode(EPISODES[2][0])
    for f in range(EPISODES[2][1]):
        w.add_frame(fixture_frame(2, f))
    assert w.save_episode().episode_index == 2
    r = DatasetReader(root)
    assert r.num_episodes == 3 and len(r) == 180
    assert r.episodes[2]['videos/observation.images.front/from_timestamp'] == 3.5
    check_front(r[105 + 10]['observation.images.front'], 2, 10)
    with pytest.raises(DatasetError, match='records at 30 fps, not 15'):
        DatasetWriter(root, 15, fixture_features())
    bad = fixture_features()
    bad['action'] = layout.vector_feature(NAMES[:5])
    with pytest.raises(DatasetError, match='other shapes or types'):
        DatasetWriter(root, 30, bad)


def test_bad_frames_and_unwritable_directory(tmp_path):
    w = DatasetWriter(tmp_path / 'x', 30, fixture_features())
    w.start_episode('pick the cube')
    frame = fixture_frame(0, 0)
    with pytest.raises(ValueError, match="missing \\['action'\\]"):
        w.add_frame({k: v for k, v in frame.items() if k != 'action'})
    with pytest.raises(ValueError, match='expected \\(96, 128, 3\\) uint8'):
        w.add_frame({**frame, 'observation.images.front': np.zeros((48, 64, 3), np.uint8)})
    w.discard_episode()
    assert not (tmp_path / 'x' / 'meta').exists()  # nothing committed
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a directory')
    with pytest.raises(DatasetError, match='cannot write to the dataset directory .*a_file/ds'):
        DatasetWriter(blocker / 'ds', 30, fixture_features())
    assert blocker.read_text() == 'not a directory'


RECORD_UNTIL_KILLED = """
import sys, time
import numpy as np
from robolearn_core.dataset import layout
from robolearn_core.dataset.validate import validate
from robolearn_core.dataset.writer import DatasetWriter
names = [f'j{i}.pos' for i in range(6)]
features = {'observation.state': layout.vector_feature(names), 'action': layout.vector_feature(names),
            'observation.images.wrist': layout.video_feature(72, 96, 30, 'av1')}
w = DatasetWriter(sys.argv[1], 30, features)
for ep in range(4):
    w.start_episode('pick the cube')
    for f in range(20):
        w.add_frame({'observation.state': np.full(6, ep, np.float32), 'action': np.full(6, f, np.float32),
                     'observation.images.wrist': np.full((72, 96, 3), 4 * f, np.uint8)})
        if ep == 3 and f == 10:
            time.sleep(0.5)  # the encoder writes part of the episode
            print('MID', flush=True)
            time.sleep(60)
    w.save_episode()
"""


def test_kill_9_mid_episode_loses_only_that_episode(tmp_path):
    root = tmp_path / 'crash'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, '-c', RECORD_UNTIL_KILLED, str(root)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b'MID', 'the recording process did not reach episode 3'
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert (root / commit.STAGING_DIR).is_dir()  # the episode in progress was there
    r = DatasetReader(root)
    assert r.num_episodes == 3 and len(r) == 60
    assert r[45]['observation.state'].tolist() == [2.0] * 6 and r[45]['action'].tolist() == [5.0] * 6
    np.testing.assert_allclose(r[59]['observation.images.wrist'] * 255, 4 * 19, atol=PIXEL_TOL)
    w = DatasetWriter(root)  # restart: resumes at episode 3
    assert w.num_episodes == 3 and not (root / commit.STAGING_DIR).exists()
    assert w.start_episode('pick the cube') == 3
    for _ in range(5):
        w.add_frame(
            {'observation.state': np.zeros(6), 'action': np.zeros(6), 'observation.images.wrist': np.zeros((72, 96, 3), np.uint8)}
        )
    w.save_episode()
    assert len(DatasetReader(root)) == 65
    assert validate(root).ok, validate(root).problems


def test_interrupted_commit_is_rolled_forward(tmp_path, monkeypatch):
    root = tmp_path / 'journal'
    record(root, list(enumerate(EPISODES[:1])))
    w = DatasetWriter(root, 30, fixture_features())
    w.start_episode('place the cube')
    for f in range(10):
        w.add_frame(fixture_frame(1, f))
    real_apply = commit._apply

    def crash_after_two(root_, entries):
        real_apply(root_, entries[:2])
        raise KeyboardInterrupt('simulated crash between renames')

    monkeypatch.setattr(commit, '_apply', crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        w.save_episode()
    monkeypatch.setattr(commit, '_apply', real_apply)
    assert commit.pending(root)
    with pytest.raises(DatasetError, match='a save was interrupted half way'):
        DatasetReader(root)
    w2 = DatasetWriter(root, 30, fixture_features())
    assert w2.recovered_commit and w2.num_episodes == 2
    r = DatasetReader(root)
    assert len(r) == 70 and r[69]['task'] == 'place the cube'


@pytest.mark.skipif(not FIXTURE.is_dir(), reason='fixture missing')
def test_resume_appends_to_a_dataset_lerobot_wrote(tmp_path):
    import shutil

    root = tmp_path / 'lerobot'
    shutil.copytree(FIXTURE, root)
    for p in [root, *root.rglob('*')]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    w = DatasetWriter(root, 30, fixture_features())
    assert w.num_episodes == 4
    w.start_episode('place the cube')
    for f in range(20):
        w.add_frame(fixture_frame(4, f))
    w.save_episode()
    rep = validate(root)
    assert rep.ok, rep.problems
    r = DatasetReader(root)
    assert r.num_episodes == 5 and len(r) == 230 and r.tasks == {0: 'pick the cube', 1: 'place the cube', 2: 'push the cube'}
    e4 = r.episodes[4]
    assert (e4['dataset_from_index'], e4['videos/observation.images.front/from_timestamp']) == (210, 7.0)
    for i, (ep, f) in ((0, (0, 0)), (200, (3, 20)), (215, (4, 5)), (229, (4, 19))):
        item = r[i]
        assert (item['episode_index'], item['frame_index']) == (ep, f)
        check_front(item['observation.images.front'], ep, f)
        np.testing.assert_allclose(item['observation.images.wrist'] * 255, (4 * f) % 256, atol=PIXEL_TOL)
        np.testing.assert_allclose(item['observation.state'], expected_state(ep, f), atol=1e-4)
    assert r[229]['task'] == 'place the cube' and r[229]['task_index'] == 1
    stats = json.loads((root / 'meta/stats.json').read_text())
    assert stats['observation.state']['count'] == [230] and stats['observation.state']['max'][3] == 20.0


@pytest.mark.parametrize('workers', [0, 2])
def test_training_table_of_a_recording_equals_frame_by_frame_reads(written, workers):
    """fit loads whole episodes at once (uint8, in worker processes): the same values as reading each frame."""
    import torch

    from robolearn_core.training.frame_table import FrameTable

    reader = DatasetReader(written, episodes=[2, 0])
    keys = ['observation.state', 'observation.images.front', 'observation.images.wrist', 'action']
    table = FrameTable.from_source(reader, keys, workers=workers, progress=False)
    assert len(table.episode_index) == len(reader)
    assert table.data['observation.images.front'].dtype == torch.uint8
    for i in (0, 1, EPISODES[2][1] - 1, EPISODES[2][1], len(reader) - 1):
        frame = reader[i]
        assert int(table.episode_index[i]) == frame['episode_index']
        for key in keys:
            expected = frame[key]
            if key in reader.camera_keys:
                expected = np.rint(expected * 255).astype(np.uint8)
            np.testing.assert_array_equal(table.data[key][i].numpy(), expected, err_msg=f'{key} at frame {i}')
