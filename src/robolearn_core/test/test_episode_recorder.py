"""The recorder's episode state machine without ROS: real dataset files, streams fed by the test."""

import threading
import time

import numpy as np
import pytest

from robolearn_core.calibration import ArmCalibration, MotorCalibration
from robolearn_core.dataset.reader import DatasetReader
from robolearn_core.recording.episode_recorder import ACTION, FOLLOWER, EpisodeRecorder, RecorderSettings, StreamsNotReady
from robolearn_core.so_arm.frame_schema import FrameSchema
from robolearn_core.so_arm.joints import JOINT_NAMES

FPS = 20


def calibration():
    return ArmCalibration({n: MotorCalibration(i + 1, 0, 0, 1000, 3000) for i, n in enumerate(JOINT_NAMES)})


@pytest.fixture
def recorder(tmp_path):
    logged = []
    r = EpisodeRecorder(RecorderSettings(root=tmp_path / 'ds', fps=FPS, task='pick', video_codec='h264', max_age=0.2),
                        FrameSchema(('front',), calibration(), calibration()), logged.append)
    r.logged = logged
    halt = threading.Event()
    thread = threading.Thread(target=r.run_sampling, args=(halt,), daemon=True)
    thread.start()
    yield r
    halt.set()
    thread.join(2)
    r.close()


def feed(r, seconds, image_shape=(32, 48, 3)):
    """Every stream, fresh, every 10 ms for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r.put_joints(FOLLOWER, np.full(6, 0.1))
        r.put_joints(ACTION, np.full(6, 0.2))
        r.put_image('front', np.zeros(image_shape, np.uint8))
        time.sleep(0.01)


def test_no_episode_until_every_stream_is_fresh(recorder):
    assert 'new dataset' in recorder.open()
    recorder.put_joints(FOLLOWER, np.zeros(6))
    with pytest.raises(StreamsNotReady, match='cannot start: action: no message yet; camera front: no message yet'):
        recorder.start_episode()


def test_episodes_record_at_the_dataset_clock_and_save_to_disk(recorder, tmp_path):
    recorder.open()
    feed(recorder, 0.05)
    assert recorder.start_episode() == "recording episode 0 ('pick')"
    feed(recorder, 1.0)
    message = recorder.save_episode()
    assert message.startswith('saved episode 0: ') and recorder.logged[-1] == message
    frames = DatasetReader(tmp_path / 'ds').info['total_frames']
    assert FPS * 0.8 <= frames <= FPS * 1.2 + 1, frames      # 1 s at 20 fps, whatever the feed rate (100 Hz)
    reader = DatasetReader(tmp_path / 'ds')
    np.testing.assert_allclose(reader.info['features']['observation.state']['shape'], [6])


def test_keys_and_stop(recorder):
    recorder.open()
    feed(recorder, 0.05)
    assert recorder.key('\n').startswith('recording episode 0')
    feed(recorder, 0.2)
    assert recorder.key('d') == 'discarded the episode in progress'
    with pytest.raises(ValueError, match="unknown key 'x'"):
        recorder.key('x')
    assert recorder.key('q') == 'nothing to save; stopped' and recorder.stopped
    with pytest.raises(RuntimeError, match='stopped'):
        recorder.start_episode()


def test_a_stale_stream_drops_ticks_and_says_which(recorder):
    recorder.open()
    feed(recorder, 0.05)
    recorder.start_episode()
    end = time.monotonic() + 0.6
    while time.monotonic() < end:                      # the camera goes silent
        recorder.put_joints(FOLLOWER, np.zeros(6))
        recorder.put_joints(ACTION, np.zeros(6))
        time.sleep(0.01)
    _, values, stale = recorder.progress()
    assert 'camera front' in stale and int(values['dropped_frames']) > 0
    assert any(r.startswith('stale camera front') for r in recorder.drop_reasons)


def test_automatic_mode_records_n_episodes_then_stops(tmp_path):
    r = EpisodeRecorder(RecorderSettings(root=tmp_path / 'ds', fps=FPS, task='pick', video_codec='h264',
                                         num_episodes=2, episode_time_s=0.3, reset_time_s=0.1),
                        FrameSchema((), calibration(), calibration()), lambda _: None)
    halt = threading.Event()
    threading.Thread(target=r.run_sampling, args=(halt,), daemon=True).start()
    r.open()
    messages = []
    deadline = time.monotonic() + 10
    while not r.stopped and time.monotonic() < deadline:
        r.put_joints(FOLLOWER, np.zeros(6))
        r.put_joints(ACTION, np.zeros(6))
        messages.append(r.auto_step())
        time.sleep(0.02)
    halt.set()
    r.close()
    assert r.stopped and 'recorded 2 episodes; stopping' in messages
    assert DatasetReader(tmp_path / 'ds').info['total_episodes'] == 2


def test_a_resumed_dataset_must_have_this_recorders_features(recorder, tmp_path):
    recorder.open()
    feed(recorder, 0.05)
    recorder.start_episode()
    feed(recorder, 0.2)
    recorder.save_episode()
    recorder.writer.close()
    other = EpisodeRecorder(RecorderSettings(root=tmp_path / 'ds', fps=FPS, task='pick', video_codec='h264'),
                            FrameSchema(('front', 'wrist'), calibration(), calibration()), lambda _: None)
    assert other.open().startswith('resuming')
    for cam in ('front', 'wrist'):
        other.put_image(cam, np.zeros((32, 48, 3), np.uint8))
    other.put_joints(FOLLOWER, np.zeros(6))
    other.put_joints(ACTION, np.zeros(6))
    with pytest.raises(RuntimeError, match='set cameras to match, or record into a new root'):
        other.start_episode()
    other.close()
