"""Where camera_node's frames come from: one small class per ``source`` parameter value.

Why separate from the node: the node owns timing, stamping, publishing, diagnostics and reconnection; a
source only opens, reads one RGB frame and closes, so adding a source (the simulator's renderer, say)
is one class and one entry in SOURCES. No rclpy here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from robolearn_camera.color_bars import color_bars


class SourceError(RuntimeError):
    """The source cannot be opened or stopped delivering frames; the message says what to check."""


@dataclass
class SourceConfig:
    """The node parameters a source may use."""

    width: int
    height: int
    fps: float
    device: str = ''
    fourcc: str = ''
    loop: bool = True


class FrameSource(Protocol):
    #: True: read() returns at once and the node paces frames at fps; False: read() waits for the device
    paced_by_node: bool

    def open(self) -> None:
        """Acquire the device or file; raise SourceError with the reason."""

    def read(self) -> np.ndarray:
        """The next frame, (height, width, 3) uint8 RGB; raise SourceError when the source failed."""

    def close(self) -> None:
        """Release the device (idempotent)."""

    def describe(self) -> str:
        """One line for logs and diagnostics (device, negotiated format)."""


def _fit(rgb: np.ndarray, cfg: SourceConfig) -> np.ndarray:
    """Frames of another size are resized (INTER_AREA) so downstream always gets width x height."""
    if rgb.shape[0] == cfg.height and rgb.shape[1] == cfg.width:
        return rgb
    import cv2

    return cv2.resize(rgb, (cfg.width, cfg.height), interpolation=cv2.INTER_AREA)


class PatternSource:
    """The deterministic test pattern (robolearn_camera.color_bars): checks a pipeline without a camera."""

    paced_by_node = True

    def __init__(self, cfg: SourceConfig) -> None:
        self.cfg = cfg
        self.index = 0

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray:
        frame = color_bars(self.index, self.cfg.height, self.cfg.width)
        self.index += 1
        return frame

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return f'test pattern {self.cfg.width}x{self.cfg.height}'


class OpenCVSource:
    """A V4L2/USB camera by index (``device: '0'``) or path (``/dev/video2``, or a stream/file URL)."""

    paced_by_node = False

    def __init__(self, cfg: SourceConfig) -> None:
        self.cfg = cfg
        self.cap = None
        self.negotiated = ''

    def open(self) -> None:
        import cv2

        dev = self.cfg.device.strip()
        if not dev:
            raise SourceError("source 'opencv' needs the device parameter: an index such as '0' or a path such as /dev/video0")
        target: int | str = int(dev) if dev.isdigit() else dev
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f'cannot open camera {dev!r}: check it is plugged in, not used by another program, '
                              'and that the user is in the video group')
        if self.cfg.fourcc:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.cfg.fourcc[:4].ljust(4)))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.cfg.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.cfg.height)
        cap.set(cv2.CAP_PROP_FPS, self.cfg.fps)
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = cap.get(cv2.CAP_PROP_FPS)
        code = int(cap.get(cv2.CAP_PROP_FOURCC))
        fourcc = ''.join(chr((code >> (8 * i)) & 0xFF) for i in range(4)) if code > 0 else '?'
        self.negotiated = f'{w}x{h} @ {fps:g} fps {fourcc}'
        self.cap = cap

    def read(self) -> np.ndarray:
        import cv2

        if self.cap is None:
            raise SourceError('camera is not open')
        ok, bgr = self.cap.read()
        if not ok or bgr is None:
            raise SourceError(f'camera {self.cfg.device!r} returned no frame (unplugged, or end of stream)')
        return _fit(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self.cfg)

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None

    def describe(self) -> str:
        return f'opencv {self.cfg.device} ({self.negotiated or "not open"})'


class FileSource:
    """Plays a video file at ``fps`` (for tests and demos), from the start again at its end if ``loop``."""

    paced_by_node = True

    def __init__(self, cfg: SourceConfig) -> None:
        self.cfg = cfg
        self.container = None
        self.frames = None
        self.played = 0

    def open(self) -> None:
        import av

        path = Path(self.cfg.device)
        if not self.cfg.device or not path.is_file():
            raise SourceError(f"source 'file' needs device = a video file; {self.cfg.device!r} is not a file")
        try:
            self.container = av.open(str(path))
        except av.error.FFmpegError as exc:
            raise SourceError(f'cannot open video file {path}: {exc}') from exc
        self.frames = self.container.decode(video=0)

    def read(self) -> np.ndarray:
        import av

        if self.container is None:
            raise SourceError('video file is not open')
        try:
            frame = next(self.frames)
        except StopIteration:
            if not self.cfg.loop:
                raise SourceError(f'end of video file {self.cfg.device}') from None
            self.container.seek(0)
            self.frames = self.container.decode(video=0)
            try:
                frame = next(self.frames)
            except StopIteration:
                raise SourceError(f'video file {self.cfg.device} has no frames') from None
        except av.error.FFmpegError as exc:
            raise SourceError(f'decoding {self.cfg.device} failed: {exc}') from exc
        self.played += 1
        return _fit(frame.to_ndarray(format='rgb24'), self.cfg)

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None

    def describe(self) -> str:
        return f'file {self.cfg.device}'


#: source parameter value -> class
SOURCES: dict[str, type] = {'pattern': PatternSource, 'opencv': OpenCVSource, 'file': FileSource}
