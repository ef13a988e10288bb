"""Video encoding for the dataset writer: one worker thread per camera and episode, and mp4 appending.

Why a worker: LeRobot's users wait tens of seconds in save_episode while video encodes; here frames go
to a queue as they are recorded and a thread encodes them at once (PyAV releases the GIL inside FFmpeg),
so at save time only the last few frames remain. The thread also reduces each frame to the histograms
the image stats need (stats.image_histogram), so no frame is kept after it is encoded.

Appending: LeRobot stores many episodes in one mp4 (meta/episodes says where each lies). An episode's
file is appended by remuxing (stream copy, no re-encode) the existing file and the episode into a new
file, with the episode's timestamps shifted to start where the file ended.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from robolearn_core.dataset.stats import image_histogram

# SVT-AV1 prints a banner per encoder on stderr; keep its errors only unless the user asked otherwise.
os.environ.setdefault('SVT_LOG', '1')

#: codec name in info.json -> PyAV encoder
ENCODERS = {'av1': 'libsvtav1', 'h264': 'libx264'}


def encoder_options(codec: str, crf: int, gop: int, preset: int | None) -> dict[str, str]:
    """LeRobot's settings: CRF 30, a keyframe every 2 frames; SVT-AV1 preset 12 (its fastest) by default."""
    if codec not in ENCODERS:
        raise ValueError(f'video codec {codec!r} is not one of {", ".join(ENCODERS)}')
    opts = {'g': str(gop), 'crf': str(crf)}
    if codec == 'av1':
        opts['preset'] = str(12 if preset is None else preset)
    else:
        opts['preset'] = 'ultrafast'  # x264's presets are names; ultrafast keeps 640x480 at g=2 real time on one core
    return opts


def check_encoder(codec: str) -> None:
    """Fail early, naming the fix, when PyAV's FFmpeg lacks the encoder."""
    try:
        av.codec.Codec(ENCODERS[codec], 'w')
    except Exception as exc:  # noqa: BLE001 - PyAV raises several types here
        raise RuntimeError(
            f'PyAV has no {ENCODERS[codec]} encoder ({exc}); use video_codec="h264" or a PyAV wheel that bundles it'
        ) from exc


@dataclass
class EncodedEpisode:
    """What an encoder thread leaves behind: the mp4, its frame count and per-frame histograms."""

    path: Path
    frames: int
    histograms: list[np.ndarray] = field(repr=False)
    encode_seconds: float


class EpisodeVideoEncoder:
    """Encodes one camera's frames of one episode into ``path`` on a worker thread.

    ``add`` never blocks; ``finish`` waits for the frames still queued and closes the file.
    """

    _STOP = object()

    def __init__(
        self, path: Path, width: int, height: int, fps: int, codec: str = 'av1', crf: int = 30,
        gop: int = 2, preset: int | None = None, threads: int = 1,
    ) -> None:
        self.path = Path(path)
        self.width, self.height, self.fps = width, height, fps
        self._options = encoder_options(codec, crf, gop, preset)
        if codec == 'av1':
            self._options['svtav1-params'] = f'lp={threads}'
        else:
            self._options['threads'] = str(threads)
        self._encoder_name = ENCODERS[codec]
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._histograms: list[np.ndarray] = []
        self._added = 0
        self._encoded = 0
        self._error: BaseException | None = None
        self._busy_s = 0.0
        self._thread = threading.Thread(target=self._run, name=f'encode-{self.path.stem}', daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Frames queued but not yet encoded."""
        return self._added - self._encoded

    def add(self, rgb: np.ndarray) -> None:
        if self._error is not None:
            raise RuntimeError(f'video encoder for {self.path.name} failed: {self._error}') from self._error
        if rgb.shape != (self.height, self.width, 3) or rgb.dtype != np.uint8:
            raise ValueError(
                f'frame for {self.path.name} is {rgb.shape} {rgb.dtype}, expected ({self.height}, {self.width}, 3) '
                'uint8 RGB: check the camera resolution against the dataset features'
            )
        self._added += 1
        self._queue.put(rgb)

    def finish(self) -> EncodedEpisode:
        self._queue.put(self._STOP)
        self._thread.join()
        if self._error is not None:
            raise RuntimeError(f'video encoder for {self.path.name} failed: {self._error}') from self._error
        return EncodedEpisode(self.path, self._encoded, self._histograms, self._busy_s)

    def cancel(self) -> None:
        self._queue.put(self._STOP)
        self._thread.join()
        self.path.unlink(missing_ok=True)

    def _run(self) -> None:
        try:
            with av.open(str(self.path), mode='w', options={'movflags': 'faststart'}) as container:
                stream = container.add_stream(self._encoder_name, rate=self.fps, options=self._options)
                stream.width, stream.height, stream.pix_fmt = self.width, self.height, 'yuv420p'
                frame_tb = Fraction(1, self.fps)  # the muxer replaces stream.time_base once it starts
                stream.time_base = frame_tb
                while True:
                    item = self._queue.get()
                    if item is self._STOP:
                        break
                    t0 = time.perf_counter()
                    frame = av.VideoFrame.from_ndarray(item, format='rgb24')
                    frame.pts = self._encoded
                    frame.time_base = frame_tb
                    container.mux(stream.encode(frame))
                    self._histograms.append(image_histogram(item))
                    self._encoded += 1
                    self._busy_s += time.perf_counter() - t0
                t0 = time.perf_counter()
                container.mux(stream.encode(None))
                self._busy_s += time.perf_counter() - t0
        except BaseException as exc:  # noqa: BLE001 - surfaced to the caller by add/finish
            self._error = exc
            while True:  # drain so finish() returns
                if self._queue.get() is self._STOP:
                    break


def append_videos(parts: list[Path], out: Path) -> None:
    """Write ``parts`` one after another into ``out`` by stream copy, each shifted to where the last ended."""
    inputs = [av.open(str(p)) for p in parts]
    try:
        with av.open(str(out), mode='w', options={'movflags': 'faststart'}) as output:
            template = inputs[0].streams.video[0]
            ostream = output.add_stream_from_template(template=template, opaque=True)
            ostream.time_base = template.time_base
            offset = 0
            for container in inputs:
                istream = container.streams.video[0]
                if istream.time_base != template.time_base:
                    raise ValueError(f'cannot append {container.name}: time base {istream.time_base} != {template.time_base}')
                end = offset
                for packet in container.demux(istream):
                    if packet.dts is None:
                        continue
                    packet.pts += offset
                    packet.dts += offset
                    end = max(end, packet.pts + (packet.duration or 0))
                    packet.stream = ostream
                    output.mux(packet)
                offset = end
    finally:
        for c in inputs:
            c.close()
