"""Episodes of a LeRobot v3.0 dataset recorded from live streams on the dataset's own clock.

Why apart from the recorder node: starting, saving, discarding and timing episodes (by service, by
keyboard or automatically), sampling every stream at tick k = start + k / fps, and counting what was
dropped and why, is a state machine with rules of its own (no episode without every stream, a resumed
dataset must have this recorder's features, a crash loses at most the episode in progress). It is
tested here without ROS; the node only feeds it messages and calls its methods.

Threads: ``put_*`` from subscription callbacks, :meth:`run_sampling` on a thread of its own (so a burst
of image callbacks cannot delay a tick), episode changes from the executor thread; one lock orders them.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robolearn_core.control.fixed_rate import FixedRateSchedule
from robolearn_core.dataset import layout
from robolearn_core.dataset.writer import DatasetWriter
from robolearn_core.recording.stream_sampler import StreamSampler, describe_stale
from robolearn_core.so_arm.frame_schema import FrameSchema

FOLLOWER, ACTION = 'follower', 'action'
#: What the keyboard does (Enter alone starts or saves).
KEYS_HELP = 'keys: Enter = start / save the episode, d Enter = discard it, q Enter = save and stop'


def camera_stream(camera: str) -> str:
    return f'camera {camera}'


class StreamsNotReady(RuntimeError):
    """start_episode refused because a stream is missing or stale: a state to wait out (evaluate retries it right
    after a world reset), not a failure of the recorder; the node logs it as a warning, not an error."""


@dataclass(frozen=True)
class RecorderSettings:
    root: Path
    fps: int = 30
    task: str = ''
    robot_type: str = 'so101_follower'
    max_age: float = 0.1
    video_codec: str = 'av1'
    encoder_threads: int = 1
    video_files_size_in_mb: int = 200
    num_episodes: int = 0         # > 0: record this many automatically
    episode_time_s: float = 30.0
    reset_time_s: float = 5.0

    def problems(self) -> list[str]:
        problems = []
        if not 1 <= self.fps <= 240:
            problems.append(f'fps {self.fps} is outside 1..240')
        if self.max_age <= 0:
            problems.append(f'max_age {self.max_age} must be > 0')
        if self.video_codec not in ('av1', 'h264'):
            problems.append(f'video_codec {self.video_codec!r} is not av1 or h264')
        if self.num_episodes and not self.task:
            problems.append('num_episodes > 0 needs a task string')
        return problems


class EpisodeRecorder:
    """The dataset being recorded: streams in, episodes out. Methods that change episodes raise with the fix."""

    def __init__(self, settings: RecorderSettings, schema: FrameSchema, log: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.schema = schema
        self.log = log
        self.clock = clock
        self.cameras = list(schema.cameras)
        self.streams = [FOLLOWER, ACTION] + [camera_stream(c) for c in self.cameras]
        self.sampler = StreamSampler(self.streams, settings.max_age)
        self.schedule = FixedRateSchedule(settings.fps, clock)
        self.writer: DatasetWriter | None = None
        self.image_sizes: dict[str, tuple[int, int]] = {}
        self.lock = threading.RLock()
        self.episode_started = 0.0
        self.dropped = 0
        self.dropped_total = 0
        self.drop_reasons: collections.Counter[str] = collections.Counter()
        self.last_stale = ''
        self.last_save = ''
        self.saved_this_run = 0
        self.next_auto_start = 0.0
        self.stopped = False

    @property
    def recording(self) -> bool:
        return self.writer is not None and self.writer.episode_in_progress

    # -- start-up ----------------------------------------------------------------------------------------------
    def open(self) -> str:
        """Resume the dataset at root, or check a new one can be written there; the line to log."""
        root = self.settings.root
        if self.settings.num_episodes:
            self.next_auto_start = self.clock()
        if (root / layout.INFO_PATH).is_file():
            self.writer = self._open_writer()
            return f'resuming {root}: {self.writer.num_episodes} episodes saved, next is {self.writer.num_episodes}'
        DatasetWriter.check_writable(root)
        return f'new dataset at {root} (created at the first episode, once every camera has sent an image)'

    def _open_writer(self) -> DatasetWriter:
        s = self.settings
        features = self.schema.features(self.image_sizes, s.fps, s.video_codec) if self.image_sizes or not self.cameras else None
        return DatasetWriter(s.root, s.fps, features, s.robot_type, video_codec=s.video_codec,
                             encoder_threads=s.encoder_threads, video_files_size_in_mb=s.video_files_size_in_mb)

    def close(self) -> None:
        """Close the writer; an episode in progress is discarded (saved ones are already on disk)."""
        if self.writer is not None:
            if self.recording:
                self.log(f'discarding unsaved episode {self.writer.num_episodes}')
            self.writer.close()

    # -- streams -------------------------------------------------------------------------------------------------
    def put_joints(self, stream: str, positions: np.ndarray) -> None:
        """Joint radians of the follower (``FOLLOWER``) or of the action stream (``ACTION``), received now."""
        self.sampler.put(stream, self.clock(), positions)

    def put_image(self, camera: str, rgb: np.ndarray) -> None:
        """An (H, W, 3) rgb8 image of ``camera``, received now."""
        self.image_sizes.setdefault(camera, rgb.shape[:2])
        self.sampler.put(camera_stream(camera), self.clock(), rgb)

    def run_sampling(self, halt: threading.Event) -> None:
        """The sampling clock (its own thread): tick k of an episode at start + k / fps; ticks that pass while the
        process is starved are dropped and counted, not sampled late in a burst."""
        idle = self.schedule.period / 2
        while not halt.is_set():
            if not self.recording:
                halt.wait(idle)
                continue
            tick = self.schedule.wait(halt)
            if tick is None:
                return
            with self.lock:
                if not self.recording:
                    continue
                if tick.missed:
                    self._drop('late tick', tick.missed)
                    self.last_stale = f'{tick.missed} tick(s) late: the process was starved of CPU'
                self._sample_once(self.clock())

    def _sample_once(self, now: float) -> None:
        sample = self.sampler.sample(now)
        if not sample.complete:
            self._drop('stale ' + '+'.join(sample.stale))
            self.last_stale = describe_stale(sample.stale)
            return
        images = {c: sample.values[camera_stream(c)] for c in self.cameras}
        try:
            self.writer.add_frame(self.schema.frame(sample.values[FOLLOWER], sample.values[ACTION], images))
        except ValueError as exc:  # e.g. a camera changed resolution mid-episode
            self._drop('bad frame')
            self.last_stale = str(exc)

    def _drop(self, reason: str, count: int = 1) -> None:
        self.dropped += count
        self.dropped_total += count
        self.drop_reasons[reason] += count

    # -- episodes ------------------------------------------------------------------------------------------------
    def start_episode(self) -> str:
        if self.stopped:
            raise RuntimeError('the recorder was stopped')
        if not self.settings.task:
            raise ValueError('parameter task is empty: set the task string of the episodes')
        missing = [c for c in self.cameras if c not in self.image_sizes]
        stale = self.sampler.sample(self.clock()).stale
        if missing or stale:
            raise StreamsNotReady('cannot start: ' + describe_stale(stale) +
                               ' (is every camera_node and driver running and publishing?)')
        if self.writer is None:
            self.writer = self._open_writer()
        expected = sorted(self.schema.keys)
        if sorted(self.writer.user_keys) != expected:
            raise RuntimeError(f'the dataset at {self.settings.root} has features {sorted(self.writer.user_keys)}, this '
                               f'recorder records {expected}: set cameras to match, or record into a new root')
        with self.lock:
            index = self.writer.start_episode(self.settings.task)
            self.episode_started = self.clock()
            self.schedule.restart(self.episode_started)
            self.dropped = 0
            self.drop_reasons.clear()
        return f'recording episode {index} ({self.settings.task!r})'

    def save_episode(self) -> str:
        if not self.recording:
            raise RuntimeError('no episode in progress: call start_episode first')
        with self.lock:
            saved = self.writer.save_episode()
        self.saved_this_run += 1
        why = ', '.join(f'{n} {r}' for r, n in self.drop_reasons.most_common())
        self.last_save = (f'saved episode {saved.episode_index}: {saved.length} frames, {self.dropped} dropped'
                          f'{f" ({why})" if why else ""}, save took {saved.save_seconds:.3f} s, '
                          f'encoder {saved.encode_realtime_factor:.1f}x real time')
        self.log(self.last_save)
        return self.last_save

    def discard_episode(self) -> str:
        if not self.recording:
            raise RuntimeError('no episode in progress')
        with self.lock:
            self.writer.discard_episode()
        return 'discarded the episode in progress'

    def stop(self) -> str:
        """Save the episode in progress (if any) and stop, even if the save fails; no episode starts after this."""
        message = 'stopped'
        if self.recording:
            try:
                message = f'{self.save_episode()}; stopped'
            except (RuntimeError, ValueError, OSError) as exc:
                message = f'saving the episode in progress failed: {exc}'
        self.stopped = True
        return message

    def key(self, line: str) -> str:
        """One line typed on the terminal: Enter starts or saves, 'd' discards, 'q' saves and stops."""
        key = line.strip().lower()
        if key == '':
            return self.save_episode() if self.recording else self.start_episode()
        if key == 'd':
            return self.discard_episode()
        if key == 'q':
            return self.stop() if self.recording else f'nothing to save; {self.stop()}'
        raise ValueError(f'unknown key {key!r}: Enter = start/save, d = discard, q = save and stop')

    def auto_step(self) -> str:
        """Automatic mode (num_episodes > 0): start, time and save episodes; what happened, to log ('' if nothing)."""
        s = self.settings
        now = self.clock()
        if self.stopped or not s.num_episodes:
            return ''
        if self.recording:
            if now - self.episode_started < s.episode_time_s:
                return ''
            try:
                self.save_episode()
            except (RuntimeError, ValueError, OSError) as exc:
                self.log(f'saving episode {self.writer.num_episodes} failed: {exc}')
            self.next_auto_start = now + s.reset_time_s
            if self.saved_this_run >= s.num_episodes:
                self.stopped = True
                return f'recorded {s.num_episodes} episodes; stopping'
            return ''
        if now < self.next_auto_start:
            return ''
        try:
            return self.start_episode()
        except RuntimeError as exc:
            self.last_stale = str(exc)
            self.next_auto_start = now + 1.0
            return ''

    # -- progress ------------------------------------------------------------------------------------------------
    def progress(self) -> tuple[str, dict[str, str], str]:
        """(state, details, stale streams described or '') for diagnostics and the log."""
        now = self.clock()
        recording = self.recording
        values = {
            'state': 'recording' if recording else ('stopped' if self.stopped else 'idle'),
            'dataset': str(self.settings.root),
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
        return values['state'], values, describe_stale(stale) if stale else ''
