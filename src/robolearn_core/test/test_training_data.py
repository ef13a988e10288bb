"""The decoded-frame cache and the two ways batches reach the policy (GPU/RAM-resident table, or workers
reading the cache), and the image size that travels from the cache into the checkpoint."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from robolearn_core.dataset.in_memory import to_uint8
from robolearn_core.dataset.reader import DatasetReader
from robolearn_core.dataset.synthetic import rotating_arm_dataset
from robolearn_core.policies import load_policy
from robolearn_core.policies.common.image_transforms import to_image_size
from robolearn_core.training import trainer
from robolearn_core.training.frame_cache import build_camera_frames
from robolearn_core.training.trainer import fit
from tests.harness.tiny_policies import WITH_IMAGES, quick_settings

pytestmark = pytest.mark.usefixtures('torch_one_thread')


@pytest.fixture(scope='module')
def recorded(tmp_path_factory):
    arrays = rotating_arm_dataset(num_episodes=3, length=12, cameras=2, image_hw=(24, 32), seed=1)
    return arrays.write(tmp_path_factory.mktemp('recorded') / 'rotating_arm')


def _decoded(reader: DatasetReader, key: str, position: int, frames: list[int]) -> torch.Tensor:
    rgb = reader.episode_frames_uint8(key, position, np.array(frames))
    return torch.from_numpy(rgb).permute(0, 3, 1, 2)


def _mtimes(folder) -> dict:
    return {p: p.stat().st_mtime_ns for p in sorted(folder.rglob('*.u8'))}


def test_cache_holds_frames_at_the_image_size_reuses_them_and_rebuilds_changed_videos(recorded, tmp_path):
    reader = DatasetReader(recorded)
    front, wrist = reader.camera_keys
    frames = build_camera_frames(reader, reader.camera_keys, lambda key: (12, 16), 'resize', tmp_path, progress=False)
    assert len(frames[front]) == len(reader) == 36 and frames[front].shape == (3, 12, 16)
    # a history window that spans frames 0-1 of episode 0, and frame 1 of episode 1 twice (clamped history)
    got = frames[front][torch.tensor([[0, 1], [13, 13]])]
    assert got.shape == (2, 2, 3, 12, 16) and got.dtype == torch.uint8
    assert torch.equal(got[0], to_image_size(_decoded(reader, front, 0, [0, 1]), (12, 16), 'resize'))
    assert torch.equal(got[1, 0], got[1, 1])
    assert torch.equal(got[1, 0], to_image_size(_decoded(reader, front, 1, [1]), (12, 16), 'resize')[0])

    before = _mtimes(tmp_path)
    assert len(before) == 6  # one file per camera and episode
    build_camera_frames(reader, reader.camera_keys, lambda key: (12, 16), 'resize', tmp_path, progress=False)
    assert _mtimes(tmp_path) == before, 'a second run of the same dataset and size must reuse the cache'

    video = next((recorded / 'videos' / wrist).rglob('*.mp4'))
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10 ** 9))  # the recording changed (re-encoded, appended)
    build_camera_frames(DatasetReader(recorded), reader.camera_keys, lambda key: (12, 16), 'resize', tmp_path,
                        workers=2, progress=False)
    after = _mtimes(tmp_path)
    changed = {p.parent.name for p in after if after[p] != before[p]}
    assert changed == {f'{wrist}-12x16-resize'}, changed


def test_crop_mode_takes_the_centre(recorded, tmp_path):
    reader = DatasetReader(recorded)
    key = reader.camera_keys[0]
    frames = build_camera_frames(reader, [key], lambda k: (20, 20), 'crop', tmp_path, progress=False)
    np.testing.assert_array_equal(frames[key][torch.tensor([5])][0].numpy(),
                                  _decoded(reader, key, 0, [5])[0, :, 2:22, 6:26].numpy())


def test_batches_from_the_cache_train_like_the_resident_table(tmp_path, monkeypatch):
    """A table too large to keep (here: any, on a CPU run) falls back to workers that gather batches from the
    on-disk cache (--data-on-device no takes the same path); the policy trains all the same."""
    monkeypatch.setattr(trainer, 'HOST_TABLE_MAX_BYTES', 0)
    source = rotating_arm_dataset(num_episodes=4, length=20, cameras=1, image_hw=(16, 16))
    settings = quick_settings(tmp_path / 'cache', 60, batch_size=16, workers=1, val_episodes=1)
    streamed = fit(source, 'mlp', settings, WITH_IMAGES['mlp'])
    assert streamed['data_path'] == 'cache' and not streamed['data_on_device']
    assert streamed['best_val_loss'] * 2 < streamed['first_val_loss'], streamed
    assert streamed['cache_gb'] > 0 and 0 < streamed['peak_host_memory_gb'] < 8
    monkeypatch.undo()
    resident = fit(source, 'mlp', quick_settings(tmp_path / 'ram', 1, batch_size=16, val_episodes=1), WITH_IMAGES['mlp'])
    assert resident['data_path'] == 'device'
    # the same validation frames and fixed noise: the untrained models (same seed) score the same
    assert streamed['first_val_loss'] == pytest.approx(resident['first_val_loss'], rel=1e-5)


def test_image_size_is_stored_in_the_checkpoint_and_applied_at_inference(tmp_path):
    source = rotating_arm_dataset(num_episodes=3, length=12, cameras=1, image_hw=(24, 32))
    summary = fit(source, 'act', quick_settings(tmp_path, 4, batch_size=8),
                  {**WITH_IMAGES['act'], 'image_size': [12, 16]})
    assert summary['image_size'] == [[12, 16]]
    policy = load_policy(summary['last_checkpoint'])
    assert policy.config.image_size == [12, 16] and policy.config.image_shapes['observation.images.cam0'] == [3, 24, 32]
    frame = source[5]
    camera = to_uint8(frame['observation.images.cam0'])  # (3, 24, 32) as the camera gives it
    as_recorded = policy.predict_chunk({'observation.state': frame['observation.state'], 'observation.images.cam0': camera})
    small = to_image_size(torch.from_numpy(camera)[None], (12, 16), 'resize')[0]
    policy.reset()
    pre_sized = policy.predict_chunk({'observation.state': frame['observation.state'], 'observation.images.cam0': small})
    np.testing.assert_array_equal(as_recorded, pre_sized)
    with pytest.raises(ValueError, match=r'\(3, 24, 32\) or \(3, 12, 16\)'):
        policy.predict_chunk({'observation.state': frame['observation.state'],
                              'observation.images.cam0': np.zeros((3, 10, 10), np.uint8)})


def test_a_run_that_builds_the_cache_trains_like_one_that_finds_it(recorded, tmp_path):
    settings = dict(batch_size=8, val_episodes=1, cache_dir=str(tmp_path / 'frames'))
    reader = DatasetReader(recorded)
    built = fit(reader, 'mlp', quick_settings(tmp_path / 'a', 15, **settings), WITH_IMAGES['mlp'])
    found = fit(reader, 'mlp', quick_settings(tmp_path / 'b', 15, **settings), WITH_IMAGES['mlp'])
    assert built['final_train_loss'] == found['final_train_loss']
