"""recorder_node: samples joint states and cameras at the dataset fps and records LeRobot v3.0 episodes.

Wiring only: the sampling rule is robolearn_core.stream_sampler, units robolearn_core.calibration, files
robolearn_core.dataset.writer. On its own timer at ``fps`` the node takes the newest message of every
stream (follower joint states -> observation.state, leader joint states or follower commands -> action,
one image topic per camera) if none is older than ``max_age``; otherwise the tick is dropped and counted.

Episodes: services ~/start_episode, ~/save_episode, ~/discard_episode, ~/stop (std_srvs/Trigger), or
automatically with ``num_episodes`` > 0 (``episode_time_s`` of recording, ``reset_time_s`` between).
Progress goes to the log once a second and to /diagnostics.
"""

from __future__ import annotations

import collections
import os
import queue
import sys
import threading
import time
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_srvs.srv import Trigger

from robolearn_camera.image_conversion import ImageEncodingError, image_to_array
from robolearn_core.so_arm.frame_schema import POSITION_NAMES
from robolearn_core.calibration import ArmCalibration, CalibrationError
from robolearn_core.dataset import layout
from robolearn_core.dataset.reader import DatasetError
from robolearn_core.dataset.writer import DatasetWriter
from robolearn_core.interrupt_once import raise_on_first_sigint
from robolearn_core.so_arm.joints import JOINT_NAMES
from robolearn_core.stream_sampler import StreamSampler, describe_stale

STATE, ACTION = 'observation.state', 'action'


class RecorderNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('recorder_node', **kwargs)
        ro = dict(read_only=True)

        def param(name, default, description):
            return self.declare_parameter(name, default, ParameterDescriptor(description=description, **ro)).value

        self.root = param('root', '', 'dataset directory (created, or resumed when it holds a dataset)')
        self.fps = param('fps', 30, 'dataset frames per second: the sampling clock')
        self.task = param('task', '', 'task string of the episodes (what the demonstration does)')
        self.robot_type = param('robot_type', 'so101_follower', 'meta/info.json robot_type')
        self.cameras = list(param('cameras', ['front', 'wrist'], 'camera names: /cameras/<name>/image_raw -> '
                                  'observation.images.<name>'))
        self.state_topic = param('state_topic', '/follower/joint_states', 'JointState (rad) for observation.state')
        self.action_topic = param('action_topic', '/leader/joint_states',
                                  'JointState (rad) for action: the leader, or /follower/joint_commands')
        self.calibration_file = param('calibration_file', '', 'follower calibration JSON (LeRobot layout): '
                                      'converts radians to LeRobot SO units (degrees, gripper 0..100)')
        self.action_calibration_file = param('action_calibration_file', '',
                                             "calibration for the action stream; '' means calibration_file")
        self.max_age = param('max_age', 0.1, 'seconds a stream value may be old at a tick; older drops the tick')
        self.video_codec = param('video_codec', 'av1', 'av1 (LeRobot default) or h264')
        self.encoder_threads = param('encoder_threads', 1, 'threads per camera encoder')
        self.video_files_size_in_mb = param(
            'video_files_size_in_mb', 200, 'new datasets: start a new mp4 past this size (LeRobot: 200). Saving '
            'rewrites the current mp4, ~0.9 s per camera per 50 MB on 2 cores: lower it for faster saves')
        self.num_episodes = param('num_episodes', 0, 'record this many episodes automatically; 0: by service')
        self.episode_time_s = param('episode_time_s', 30.0, 'automatic mode: seconds per episode')
        self.reset_time_s = param('reset_time_s', 5.0, 'automatic mode: seconds between episodes')
        self.keyboard = param('keyboard', True, 'when stdin is a terminal: Enter starts/saves an episode, '
                              "'d' Enter discards it, 'q' Enter saves and stops")
        # `ros2 launch ... root:=~/datasets/x` reaches the node with the '~' unexpanded (neither the shell nor
        # launch expands it there); calibration files are expanded where they are read (ArmCalibration.load)
        self.root = os.path.expanduser(self.root)
        self._validate()

        self.streams = ['follower', 'action'] + [f'camera {c}' for c in self.cameras]
        self.sampler = StreamSampler(self.streams, self.max_age)
        self.create_subscription(JointState, self.state_topic, lambda m: self._on_joints('follower', m), 50)
        self.create_subscription(JointState, self.action_topic, lambda m: self._on_joints('action', m), 50)
        for cam in self.cameras:
            self.create_subscription(Image, f'/cameras/{cam}/image_raw', lambda m, c=cam: self._on_image(c, m), 5)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_service(Trigger, '~/start_episode', self._srv_start)
        self.create_service(Trigger, '~/save_episode', self._srv_save)
        self.create_service(Trigger, '~/discard_episode', self._srv_discard)
        self.create_service(Trigger, '~/stop', self._srv_stop)
        self.create_timer(0.1, self._auto_step)
        self._keys: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.create_timer(0.05, self._keyboard_step)
        self.create_timer(1.0, self._progress)
        # the sampling clock runs on its own thread, so a burst of image callbacks cannot delay a tick;
        # the lock orders its add_frame against start/save/discard from the service callbacks
        self._lock = threading.RLock()
        self._halt = threading.Event()
        self._sampler_thread: threading.Thread | None = None
        self._tick_origin = 0.0
        self._next_tick = 0

        self.writer: DatasetWriter | None = None
        self.state_cal: ArmCalibration | None = None
        self.action_cal: ArmCalibration | None = None
        self.image_shapes: dict[str, tuple[int, int]] = {}
        self.episode_started = 0.0
        self.dropped = 0
        self.dropped_total = 0
        self.drop_reasons: collections.Counter[str] = collections.Counter()
        self.last_stale = ''
        self.last_save = ''
        self.saved_this_run = 0
        self.next_auto_start = 0.0
        self.stopped = False
        self.exit_code: int | None = None

    def _validate(self) -> None:
        problems = []  # root is checked in start(): check_launch builds the node without parameters
        if not 1 <= self.fps <= 240:
            problems.append(f'fps {self.fps} is outside 1..240')
        if self.max_age <= 0:
            problems.append(f'max_age {self.max_age} must be > 0')
        if self.video_codec not in ('av1', 'h264'):
            problems.append(f'video_codec {self.video_codec!r} is not av1 or h264')
        if len(set(self.cameras)) != len(self.cameras):
            problems.append(f'cameras {self.cameras} repeat a name')
        if self.num_episodes and not self.task:
            problems.append('num_episodes > 0 needs a task string')
        if problems:
            raise ValueError(f'{self.get_name()}: invalid parameters: ' + '; '.join(problems))

    # -- start-up (I/O: called from main) ---------------------------------------------------------------------
    def start(self) -> None:
        """Load calibrations and open (or resume) the dataset; raises with the fix when that is impossible."""
        if not self.root:
            raise ValueError(f'{self.get_name()}: parameter root (the dataset directory) is required')
        if not self.calibration_file:
            raise ValueError(f'{self.get_name()}: calibration_file is required to convert radians to LeRobot units '
                             '(the follower arm calibration JSON written by `calibrate`)')
        self.state_cal = ArmCalibration.load(self.calibration_file)
        self.action_cal = ArmCalibration.load(self.action_calibration_file) if self.action_calibration_file else self.state_cal
        root = Path(self.root)
        if (root / layout.INFO_PATH).is_file():
            self.writer = self._open_writer()
            self.get_logger().info(f'resuming {root}: {self.writer.num_episodes} episodes saved, next is '
                                   f'{self.writer.num_episodes}')
        else:
            DatasetWriter.check_writable(root)
            self.get_logger().info(f'new dataset at {root} (created at the first episode, once every camera has sent '
                                   'an image)')
        if self.num_episodes:
            self.next_auto_start = time.monotonic()
        self._sampler_thread = threading.Thread(target=self._sampling_loop, name='sampling', daemon=True)
        self._sampler_thread.start()
        if self.keyboard and sys.stdin is not None and sys.stdin.isatty():
            print('keys: Enter = start / save the episode, d Enter = discard it, q Enter = save and stop', flush=True)
            threading.Thread(target=self._read_keys, name='keyboard', daemon=True).start()

    def _read_keys(self) -> None:
        """Lines typed on the terminal, handed to the executor thread (episodes change only there)."""
        for line in sys.stdin:
            self._keys.put(line.strip().lower())

    def _keyboard_step(self) -> None:
        while not self._keys.empty():
            key = self._keys.get()
            recording = self.writer is not None and self.writer.episode_in_progress
            if key == '':
                ok, msg = self._guarded(self.save_episode if recording else self.start_episode)
            elif key == 'd':
                ok, msg = self._guarded(self.discard_episode)
            elif key == 'q':
                ok, msg = self._guarded(self.save_episode) if recording else (True, 'nothing to save')
                self.stopped, self.exit_code = True, 0
            else:
                ok, msg = False, f'unknown key {key!r}: Enter = start/save, d = discard, q = save and stop'
            print(msg, flush=True)

    def halt(self) -> None:
        self._halt.set()
        if self._sampler_thread is not None:
            self._sampler_thread.join(timeout=5.0)

    def _open_writer(self) -> DatasetWriter:
        features = None
        if self.image_shapes or not self.cameras:
            features = {
                STATE: layout.vector_feature(list(POSITION_NAMES)),
                ACTION: layout.vector_feature(list(POSITION_NAMES)),
            }
            for cam in self.cameras:
                h, w = self.image_shapes[cam]
                features[f'observation.images.{cam}'] = layout.video_feature(h, w, self.fps, self.video_codec)
        return DatasetWriter(self.root, self.fps, features, self.robot_type, video_codec=self.video_codec,
                             encoder_threads=self.encoder_threads, video_files_size_in_mb=self.video_files_size_in_mb)

    # -- streams ---------------------------------------------------------------------------------------------
    def _on_joints(self, stream: str, msg: JointState) -> None:
        try:
            order = [msg.name.index(n) for n in JOINT_NAMES]
        except ValueError:
            self.last_stale = f'{stream}: joint names {list(msg.name)} lack some of {list(JOINT_NAMES)}'
            return
        pos = np.asarray(msg.position, dtype=np.float64)[order]
        self.sampler.put(stream, time.monotonic(), pos)

    def _on_image(self, cam: str, msg: Image) -> None:
        try:
            rgb = image_to_array(msg, 'rgb8')
        except ImageEncodingError as exc:
            self.last_stale = f'camera {cam}: {exc}'
            return
        self.image_shapes.setdefault(cam, rgb.shape[:2])
        self.sampler.put(f'camera {cam}', time.monotonic(), rgb)

    def _sampling_loop(self) -> None:
        """Tick k of an episode is at start + k / fps; ticks that pass while the process is starved are dropped."""
        period = 1.0 / self.fps
        while not self._halt.is_set():
            with self._lock:
                active = self.writer is not None and self.writer.episode_in_progress
                due = self._tick_origin + self._next_tick * period
            if not active:
                self._halt.wait(period / 2)
                continue
            now = time.monotonic()
            if now < due:
                self._halt.wait(due - now)
                continue
            with self._lock:
                if not (self.writer is not None and self.writer.episode_in_progress):
                    continue
                missed = int((now - due) / period)
                if missed:
                    self._drop('late tick', missed)
                    self.last_stale = f'{missed} tick(s) late: the process was starved of CPU'
                self._next_tick += missed + 1
                self._sample_once(now)

    def _sample_once(self, now: float) -> None:
        sample = self.sampler.sample(now)
        if not sample.complete:
            self._drop('stale ' + '+'.join(sample.stale))
            self.last_stale = describe_stale(sample.stale)
            return
        frame = {
            STATE: self.state_cal.radians_to_lerobot(sample.values['follower']).astype(np.float32),
            ACTION: self.action_cal.radians_to_lerobot(sample.values['action']).astype(np.float32),
        }
        for cam in self.cameras:
            frame[f'observation.images.{cam}'] = sample.values[f'camera {cam}']
        try:
            self.writer.add_frame(frame)
        except ValueError as exc:  # e.g. a camera changed resolution mid-episode
            self._drop('bad frame')
            self.last_stale = str(exc)

    def _drop(self, reason: str, count: int = 1) -> None:
        self.dropped += count
        self.dropped_total += count
        self.drop_reasons[reason] += count

    # -- episodes --------------------------------------------------------------------------------------------
    def start_episode(self) -> str:
        if self.stopped:
            raise RuntimeError('the recorder was stopped')
        if not self.task:
            raise ValueError('parameter task is empty: set the task string of the episodes')
        missing = [c for c in self.cameras if c not in self.image_shapes]
        stale = self.sampler.sample(time.monotonic()).stale
        if missing or stale:
            raise RuntimeError('cannot start: ' + describe_stale(stale) +
                               ' (is every camera_node and driver running and publishing?)')
        if self.writer is None:
            self.writer = self._open_writer()
        expected = sorted([STATE, ACTION] + [f'observation.images.{c}' for c in self.cameras])
        if sorted(self.writer.user_keys) != expected:
            raise RuntimeError(f'the dataset at {self.root} has features {sorted(self.writer.user_keys)}, this recorder '
                               f'records {expected}: set cameras to match, or record into a new root')
        with self._lock:
            index = self.writer.start_episode(self.task)
            self.episode_started = self._tick_origin = time.monotonic()
            self._next_tick = 0
            self.dropped = 0
            self.drop_reasons.clear()
        return f'recording episode {index} ({self.task!r})'

    def save_episode(self) -> str:
        if self.writer is None or not self.writer.episode_in_progress:
            raise RuntimeError('no episode in progress: call start_episode first')
        with self._lock:
            saved = self.writer.save_episode()
        self.saved_this_run += 1
        why = ', '.join(f'{n} {r}' for r, n in self.drop_reasons.most_common())
        self.last_save = (f'saved episode {saved.episode_index}: {saved.length} frames, {self.dropped} dropped'
                          f'{f" ({why})" if why else ""}, '
                          f'save took {saved.save_seconds:.3f} s, encoder {saved.encode_realtime_factor:.1f}x real time')
        self.get_logger().info(self.last_save)
        return self.last_save

    def discard_episode(self) -> str:
        if self.writer is None or not self.writer.episode_in_progress:
            raise RuntimeError('no episode in progress')
        with self._lock:
            self.writer.discard_episode()
        return 'discarded the episode in progress'

    def _auto_step(self) -> None:
        now = time.monotonic()
        if self.stopped or not self.num_episodes:
            return
        if self.writer is not None and self.writer.episode_in_progress:
            if now - self.episode_started >= self.episode_time_s:
                self._guarded(self.save_episode)
                self.next_auto_start = now + self.reset_time_s
                if self.saved_this_run >= self.num_episodes:
                    self.get_logger().info(f'recorded {self.num_episodes} episodes; stopping')
                    self.stopped = True
                    self.exit_code = 0
            return
        if now >= self.next_auto_start:
            try:
                self.get_logger().info(self.start_episode())
            except RuntimeError as exc:
                self.last_stale = str(exc)
                self.next_auto_start = now + 1.0

    def _guarded(self, fn) -> tuple[bool, str]:
        try:
            return True, fn()
        except (RuntimeError, ValueError, DatasetError, OSError) as exc:
            self.get_logger().error(str(exc))
            return False, str(exc)

    def _srv_start(self, _req, resp):
        resp.success, resp.message = self._guarded(self.start_episode)
        if resp.success:
            self.get_logger().info(resp.message)
        return resp

    def _srv_save(self, _req, resp):
        resp.success, resp.message = self._guarded(self.save_episode)
        return resp

    def _srv_discard(self, _req, resp):
        resp.success, resp.message = self._guarded(self.discard_episode)
        return resp

    def _srv_stop(self, _req, resp):
        msg = 'stopped'
        if self.writer is not None and self.writer.episode_in_progress:
            ok, msg = self._guarded(self.save_episode)
            msg = f'{msg}; stopped' if ok else f'saving the episode in progress failed: {msg}'
        self.stopped = True
        self.exit_code = 0
        resp.success, resp.message = True, msg
        return resp

    # -- progress ---------------------------------------------------------------------------------------------
    def _progress(self) -> None:
        recording = self.writer is not None and self.writer.episode_in_progress
        now = time.monotonic()
        values = {
            'state': 'recording' if recording else ('stopped' if self.stopped else 'idle'),
            'dataset': str(self.root),
            'episodes_saved': str(self.writer.num_episodes if self.writer else 0),
            'episode': str(self.writer.num_episodes) if recording else '',
            'seconds': f'{now - self.episode_started:.1f}' if recording else '0',
            'frames': str(self.writer.frames_in_episode if recording else 0),
            'dropped_frames': str(self.dropped),
            'dropped_frames_total': str(self.dropped_total),
            'encoder_backlog': str(self.writer.encoder_backlog() if self.writer else 0),
            'last_save': self.last_save,
        }
        for s in self.streams:
            age = self.sampler.age(s, now)
            values[f'age {s}'] = 'never' if age is None else f'{age:.3f}'
        stale = self.sampler.sample(now).stale
        if stale and recording:
            level, message = DiagnosticStatus.ERROR, 'recording, missing streams: ' + describe_stale(stale)
        elif stale:
            level, message = DiagnosticStatus.WARN, 'waiting for streams: ' + describe_stale(stale)
        else:
            level, message = DiagnosticStatus.OK, values['state']
        if recording:
            self.get_logger().info(f"episode {values['episode']}: {values['seconds']} s, {values['frames']} frames, "
                                   f"{self.dropped} dropped" + (f' ({self.last_stale})' if stale else ''))
        status = DiagnosticStatus(level=level, name=f'{self.get_name()}: recorder', hardware_id=str(self.root),
                                  message=message, values=[KeyValue(key=k, value=v) for k, v in values.items()])
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)


def main(args: list[str] | None = None) -> None:
    # Jazzy's rclpy.init() is not a context manager (Kilted's is): shut down explicitly.
    raise_on_first_sigint()  # a second Ctrl-C (ros2 launch forwards one) must not cut the clean-up short
    rclpy.init(args=args)
    code = 0
    node = None
    try:
        node = RecorderNode()
        node.start()
        while rclpy.ok() and not node.stopped:
            rclpy.spin_once(node, timeout_sec=0.1)
        code = node.exit_code or 0
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (ValueError, DatasetError, CalibrationError, OSError) as exc:
        print(f'recorder_node: {exc}', flush=True)
        code = 1
    finally:
        if node is not None:
            node.halt()
        if node is not None and node.writer is not None:
            if node.writer.episode_in_progress:
                print(f'recorder_node: discarding unsaved episode {node.writer.num_episodes}', flush=True)
            node.writer.close()  # saved episodes are already on disk
        rclpy.try_shutdown()
    raise SystemExit(code)
