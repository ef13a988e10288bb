"""Decode frames of a dataset's mp4 files at given timestamps (PyAV), seeking to the keyframe before them.

Why a class per file: opening a container costs more than decoding a frame at g=2, so a reader keeps
one decoder per file, re-opened after a fork (DataLoader workers must not share FFmpeg state).
"""

from __future__ import annotations

import os
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

#: containers and swscale contexts opened by a parent process before a fork: never closed or freed in the
#: child, whose copy of their FFmpeg threads does not exist (freeing them there would wait on them forever)
_INHERITED_FROM_PARENT: list = []
_OPEN_DECODERS: weakref.WeakSet = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for decoder in list(_OPEN_DECODERS):
        if decoder._container is not None:
            _INHERITED_FROM_PARENT.extend((decoder._container, decoder._to_rgb))
            decoder._container = decoder._to_rgb = None


os.register_at_fork(after_in_child=_after_fork_in_child)


class FrameNotFound(LookupError):
    """A requested timestamp has no frame within the tolerance."""


class VideoDecoder:
    """Random access to the frames of one video file, as (H, W, 3) uint8 RGB."""

    def __init__(self, path: Path, tolerance_s: float = 1e-4) -> None:
        self.path = Path(path)
        self.tolerance_s = tolerance_s
        self._pid = -1
        self._container: av.container.InputContainer | None = None
        # one converter per open file: ``frame.to_ndarray(format=...)`` sets up a new swscale context per
        # frame, which costs 4x the decode itself at 96x128 (same pixels either way)
        self._to_rgb: VideoReformatter | None = None

    def _stream(self) -> av.video.stream.VideoStream:
        if self._container is None or self._pid != os.getpid():
            if self._container is not None:
                _INHERITED_FROM_PARENT.extend((self._container, self._to_rgb))
            self._container = av.open(str(self.path))
            self._to_rgb = VideoReformatter()
            self._pid = os.getpid()
            _OPEN_DECODERS.add(self)
            # no FFmpeg frame threads: DataLoader workers give the parallelism, and a fork stays safe
        return self._container.streams.video[0]

    def close(self) -> None:
        if self._container is not None:
            if self._pid == os.getpid():
                self._container.close()
            else:
                _INHERITED_FROM_PARENT.extend((self._container, self._to_rgb))
        self._container = self._to_rgb = None

    def __del__(self) -> None:
        # an InputContainer sits in a reference cycle with its streams: dropped unclosed, it lives on as
        # garbage with its decoder threads, and a forked DataLoader worker that collects it hangs on them
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to free
            pass

    def frames_at(self, timestamps: Sequence[float]) -> np.ndarray:
        """Frames at ``timestamps`` (seconds in the file), (T, H, W, 3) uint8, in the order asked."""
        wanted = sorted(set(float(t) for t in timestamps))
        found = self._decode_range(wanted[0], wanted[-1], wanted)
        out = []
        for t in timestamps:
            frame = found.get(float(t))
            if frame is None:
                raise FrameNotFound(
                    f'{self.path}: no frame within {self.tolerance_s} s of t={t:.6f} s; the episode metadata '
                    '(videos/<key>/from_timestamp) does not match the video file'
                )
            out.append(frame)
        return np.stack(out)

    def decode_span(self, start_s: float, count: int, fps: float) -> np.ndarray:
        """``count`` consecutive frames from ``start_s`` (one sequential decode; the cache fills from this)."""
        wanted = [start_s + i / fps for i in range(count)]
        return self.frames_at(wanted)

    def _decode_range(self, first: float, last: float, wanted: list[float]) -> dict[float, np.ndarray]:
        stream = self._stream()
        time_base: Fraction = stream.time_base
        container, to_rgb = self._container, self._to_rgb
        assert container is not None and to_rgb is not None
        start_pts = int((first - self.tolerance_s) / time_base) if first > self.tolerance_s else 0
        container.seek(max(start_pts, 0), stream=stream, backward=True, any_frame=False)
        found: dict[float, np.ndarray] = {}
        pending = list(wanted)
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = float(frame.pts * time_base)
            while pending and pending[0] < t - self.tolerance_s:
                pending.pop(0)  # passed without a match: reported by the caller
            if pending and abs(pending[0] - t) <= self.tolerance_s:
                found[pending.pop(0)] = to_rgb.reformat(frame, format='rgb24').to_ndarray()
            if not pending or t > last + self.tolerance_s:
                break
        return found


class DecodedFrameCache:
    """Decoded episodes kept in memory (uint8), least recently used dropped past ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> np.ndarray | None:
        arr = self._items.get(key)
        if arr is not None:
            self._items.move_to_end(key)
            self.hits += 1
        else:
            self.misses += 1
        return arr

    def put(self, key: tuple, frames: np.ndarray) -> None:
        self._items[key] = frames
        self.bytes += frames.nbytes
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self.bytes -= old.nbytes
