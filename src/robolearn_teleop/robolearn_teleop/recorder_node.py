"""recorder_node: samples joint states and cameras at the dataset fps and records LeRobot v3.0 episodes.

On its own clock at ``fps`` the recorder takes the newest message of every stream (follower joint states
-> observation.state, leader joint states or follower commands -> action, one image topic per camera) if
none is older than ``max_age``; otherwise the tick is dropped and counted.

Episodes: services ~/start_episode, ~/save_episode, ~/discard_episode, ~/stop (std_srvs/Trigger), the
keyboard when stdin is a terminal, or automatically with ``num_episodes`` > 0 (``episode_time_s`` of
recording, ``reset_time_s`` between). Progress goes to the log once a second and to /diagnostics.

Wiring only: episodes and sampling are robolearn_core.recording.episode_recorder, the frame (units,
features) robolearn_core.so_arm.frame_schema, files robolearn_core.dataset.writer.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_srvs.srv import Trigger

from robolearn_core.calibration import ArmCalibration, CalibrationError
from robolearn_core.dataset.errors import DatasetError
from robolearn_core.recording.episode_recorder import (
    ACTION,
    FOLLOWER,
    KEYS_HELP,
    EpisodeRecorder,
    RecorderSettings,
    StreamsNotReady,
)
from robolearn_core.so_arm.frame_schema import FrameSchema
from robolearn_core.so_arm.joints import JointMessageError, positions_by_name
from robolearn_ros.diagnostics import ERROR, OK, WARN, Status, publish_status_every
from robolearn_ros.image_conversion import ImageEncodingError, image_to_array
from robolearn_ros.node_main import run_node
from robolearn_ros.parameters import declare, refuse_invalid

#: What an episode request can fail with: the reply carries the message, the node goes on.
EPISODE_ERRORS = (RuntimeError, ValueError, DatasetError, OSError)


class RecorderNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('recorder_node', **kwargs)
        p = lambda *a: declare(self, *a)  # noqa: E731
        # `ros2 launch ... root:=~/datasets/x` reaches the node with the '~' unexpanded (neither the shell nor
        # launch expands it there); calibration files are expanded where they are read (ArmCalibration.load)
        root = os.path.expanduser(p('root', '', 'dataset directory (created, or resumed when it holds a dataset)'))
        self.settings = RecorderSettings(
            root=Path(root),
            fps=p('fps', 30, 'dataset frames per second: the sampling clock'),
            task=p('task', '', 'task string of the episodes (what the demonstration does)'),
            robot_type=p('robot_type', 'so101_follower', 'meta/info.json robot_type'),
            max_age=p('max_age', 0.1, 'seconds a stream value may be old at a tick; older drops the tick'),
            video_codec=p('video_codec', 'av1', 'av1 (LeRobot default) or h264'),
            encoder_threads=p('encoder_threads', 1, 'threads per camera encoder'),
            video_files_size_in_mb=p('video_files_size_in_mb', 200, 'new datasets: start a new mp4 past this size '
                                     '(LeRobot: 200). Saving rewrites the current mp4, ~0.9 s per camera per 50 MB on 2 '
                                     'cores: lower it for faster saves'),
            num_episodes=p('num_episodes', 0, 'record this many episodes automatically; 0: by service'),
            episode_time_s=p('episode_time_s', 30.0, 'automatic mode: seconds per episode'),
            reset_time_s=p('reset_time_s', 5.0, 'automatic mode: seconds between episodes'),
        )
        self.root = root
        self.cameras = list(p('cameras', ['front', 'wrist'], 'camera names: /cameras/<name>/image_raw -> '
                              'observation.images.<name>'))
        state_topic = p('state_topic', '/follower/joint_states', 'JointState (rad) for observation.state')
        action_topic = p('action_topic', '/leader/joint_states',
                         'JointState (rad) for action: the leader, or /follower/joint_commands')
        self.calibration_file = p('calibration_file', '', 'follower calibration JSON (LeRobot layout): converts '
                                  'radians to LeRobot SO units (degrees, gripper 0..100)')
        self.action_calibration_file = p('action_calibration_file', '',
                                         "calibration for the action stream; '' means calibration_file")
        self.keyboard = p('keyboard', True, "when stdin is a terminal: Enter starts/saves an episode, 'd' Enter "
                          "discards it, 'q' Enter saves and stops")
        refuse_invalid(self, self.settings.problems() + (
            [f'cameras {self.cameras} repeat a name'] if len(set(self.cameras)) != len(self.cameras) else []))

        self.recorder: EpisodeRecorder | None = None
        self.create_subscription(JointState, state_topic, lambda m: self._on_joints(FOLLOWER, m), 50)
        self.create_subscription(JointState, action_topic, lambda m: self._on_joints(ACTION, m), 50)
        for cam in self.cameras:
            self.create_subscription(Image, f'/cameras/{cam}/image_raw', lambda m, c=cam: self._on_image(c, m), 5)
        for name, action in (('start_episode', 'start_episode'), ('save_episode', 'save_episode'),
                             ('discard_episode', 'discard_episode'), ('stop', 'stop')):
            self.create_service(Trigger, f'~/{name}', lambda req, resp, a=action: self._service(a, resp))
        self._keys: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.create_timer(0.1, self._auto_step)
        self.create_timer(0.05, self._keyboard_step)
        publish_status_every(self, 1.0, 'recorder', self._status)
        self._halt = threading.Event()
        self._sampler_thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        return self.recorder is not None and self.recorder.stopped

    # -- start-up and shut-down (I/O: run_node calls these) ---------------------------------------------------------
    def start(self) -> None:
        """Load calibrations and open (or resume) the dataset; raises with the fix when that is impossible."""
        if not self.root:
            raise ValueError(f'{self.get_name()}: parameter root (the dataset directory) is required')
        if not self.calibration_file:
            raise ValueError(f'{self.get_name()}: calibration_file is required to convert radians to LeRobot units '
                             '(the follower arm calibration JSON written by `calibrate`)')
        state_cal = ArmCalibration.load(self.calibration_file)
        action_cal = ArmCalibration.load(self.action_calibration_file) if self.action_calibration_file else state_cal
        schema = FrameSchema(tuple(self.cameras), state_cal, action_cal)
        self.recorder = EpisodeRecorder(self.settings, schema, self._log)
        self.get_logger().info(self.recorder.open())
        sampler = threading.Thread(target=self.recorder.run_sampling, args=(self._halt,), name='sampling', daemon=True)
        sampler.start()
        self._sampler_thread = sampler  # only once started: a Ctrl-C before that must not make stop() join it
        if self.keyboard and sys.stdin is not None and sys.stdin.isatty():
            print(KEYS_HELP, flush=True)
            threading.Thread(target=self._read_keys, name='keyboard', daemon=True).start()

    def stop(self) -> None:
        """End the sampling thread and close the dataset (saved episodes are already on disk)."""
        self._halt.set()
        if self._sampler_thread is not None:
            self._sampler_thread.join(timeout=5.0)
        if self.recorder is not None:
            self.recorder.close()

    def _log(self, text: str) -> None:
        self.get_logger().info(text)

    # -- streams ---------------------------------------------------------------------------------------------------
    def _on_joints(self, stream: str, msg: JointState) -> None:
        if self.recorder is None:
            return
        try:
            self.recorder.put_joints(stream, positions_by_name(msg.name, msg.position, allow_extra=True))
        except JointMessageError as exc:
            self.recorder.last_stale = f'{stream}: {exc}'

    def _on_image(self, cam: str, msg: Image) -> None:
        if self.recorder is None:
            return
        try:
            self.recorder.put_image(cam, image_to_array(msg, 'rgb8'))
        except ImageEncodingError as exc:
            self.recorder.last_stale = f'camera {cam}: {exc}'

    # -- episodes ----------------------------------------------------------------------------------------------------
    def _guarded(self, action: Callable[[], str]) -> tuple[bool, str]:
        try:
            return True, action()
        except StreamsNotReady as exc:  # the caller waits and asks again: a warning, not an ERROR line per try
            self.get_logger().warning(str(exc))
            return False, str(exc)
        except EPISODE_ERRORS as exc:
            self.get_logger().error(str(exc))
            return False, str(exc)

    def _service(self, action: str, resp: Trigger.Response) -> Trigger.Response:
        if self.recorder is None:
            resp.success, resp.message = False, 'the recorder is still starting'
            return resp
        resp.success, resp.message = self._guarded(getattr(self.recorder, action))
        if resp.success and action == 'start_episode':
            self.get_logger().info(resp.message)
        return resp

    def _read_keys(self) -> None:
        """Lines typed on the terminal, handed to the executor thread (episodes change only there)."""
        for line in sys.stdin:
            self._keys.put(line)

    def _keyboard_step(self) -> None:
        while self.recorder is not None and not self._keys.empty():
            line = self._keys.get()
            _, message = self._guarded(lambda line=line: self.recorder.key(line))
            print(message, flush=True)

    def _auto_step(self) -> None:
        if self.recorder is None:
            return
        ok, message = self._guarded(self.recorder.auto_step)
        if ok and message:
            self.get_logger().info(message)

    # -- progress ------------------------------------------------------------------------------------------------------
    def _status(self) -> Status:
        if self.recorder is None:
            return Status(WARN, 'starting', hardware_id=self.root)
        state, values, stale = self.recorder.progress()
        recording = state == 'recording'
        if stale and recording:
            level, message = ERROR, f'recording, missing streams: {stale}'
        elif stale:
            level, message = WARN, f'waiting for streams: {stale}'
        else:
            level, message = OK, state
        if recording:
            self.get_logger().info(f"episode {values['episode']}: {values['seconds']} s, {values['frames']} frames, "
                                   f"{values['dropped_frames']} dropped"
                                   + (f' ({self.recorder.last_stale})' if stale else ''))
        return Status(level, message, values, hardware_id=self.root)


def main(args: list[str] | None = None) -> None:
    run_node(RecorderNode, start_errors=(DatasetError, CalibrationError, OSError), args=args)
