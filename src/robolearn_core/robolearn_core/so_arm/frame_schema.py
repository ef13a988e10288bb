"""The dataset frame of an SO arm: what the recorder writes, ``dataset from-bag`` converts and a policy reads.

Why one schema: a policy trained on a dataset must see at deployment exactly what the recorder wrote,
so the feature names, the units (LeRobot's SO convention: degrees, gripper 0..100) and the image layout
are built here once, from joint radians (the topics' unit) through the arm's calibration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from robolearn_core.calibration import ArmCalibration
from robolearn_core.dataset import layout
from robolearn_core.so_arm.joints import JOINT_NAMES

STATE_KEY = 'observation.state'
ACTION_KEY = 'action'
#: Dataset feature names of the SO joints (LeRobot's).
POSITION_NAMES: tuple[str, ...] = tuple(f'{name}.pos' for name in JOINT_NAMES)


def image_key(camera: str) -> str:
    """``observation.images.<camera>``: the dataset key of a camera (``/cameras/<camera>/image_raw``)."""
    return f'observation.images.{camera}'


@dataclass(frozen=True)
class FrameSchema:
    """Cameras and units of one SO dataset. Without calibrations, values stay in radians (``--units rad``)."""

    cameras: tuple[str, ...]
    state_calibration: ArmCalibration | None = None
    action_calibration: ArmCalibration | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, 'cameras', tuple(self.cameras))
        if len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f'cameras {list(self.cameras)} repeat a name')
        if (self.state_calibration is None) != (self.action_calibration is None):
            raise ValueError('give both calibrations (LeRobot units) or neither (radians)')

    @property
    def keys(self) -> list[str]:
        return [STATE_KEY, ACTION_KEY, *(image_key(c) for c in self.cameras)]

    def features(self, image_sizes: Mapping[str, tuple[int, int]], fps: int, video_codec: str) -> dict[str, dict]:
        """info.json features; ``image_sizes``: camera -> (height, width)."""
        missing = [c for c in self.cameras if c not in image_sizes]
        if missing:
            raise ValueError(f'no image size for camera(s) {missing}')
        features = {STATE_KEY: layout.vector_feature(list(POSITION_NAMES)),
                    ACTION_KEY: layout.vector_feature(list(POSITION_NAMES))}
        for cam in self.cameras:
            h, w = image_sizes[cam]
            features[image_key(cam)] = layout.video_feature(int(h), int(w), fps, video_codec)
        return features

    def frame(self, state_rad: np.ndarray, action_rad: np.ndarray, images: Mapping[str, np.ndarray]) -> dict:
        """A dataset frame: state and action in dataset units (float32), images (H, W, 3) uint8 as given."""
        frame = {STATE_KEY: self.state_values(state_rad), ACTION_KEY: self._to_dataset(action_rad, self.action_calibration)}
        for cam in self.cameras:
            frame[image_key(cam)] = images[cam]
        return frame

    def state_values(self, state_rad: np.ndarray) -> np.ndarray:
        """observation.state in dataset units (float32) from joint radians."""
        return self._to_dataset(state_rad, self.state_calibration)

    def actions_to_radians(self, actions: np.ndarray) -> np.ndarray:
        """(..., 6) actions in dataset units (a policy's chunk) -> joint radians, float64."""
        actions = _per_joint(actions, 'actions')
        if self.action_calibration is None:
            return actions
        return self.action_calibration.lerobot_to_radians(actions)

    def radians_to_actions(self, radians: np.ndarray) -> np.ndarray:
        """(..., 6) joint radians -> actions in dataset units (float32): the setpoints a real-time-chunking
        policy continues (the executor's pending part) are radians, the policy works in dataset units."""
        return self._to_dataset(_per_joint(radians, 'radians'), self.action_calibration)

    @staticmethod
    def _to_dataset(radians: np.ndarray, calibration: ArmCalibration | None) -> np.ndarray:
        values = np.asarray(radians, dtype=np.float64)
        if calibration is not None:
            values = calibration.radians_to_lerobot(values)
        return values.astype(np.float32)


def _per_joint(values: np.ndarray, what: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.shape[-1] != len(JOINT_NAMES):
        raise ValueError(f'{what} have {values.shape[-1]} values per step; the SO arm has {len(JOINT_NAMES)}')
    return values
