"""A checkpoint on the arm: joint radians and camera images in, chunks of joint radians in time out.

Why apart from the policy node: what a deployed policy must get right is plain Python and testable
without ROS: the units (through the SO frame schema and the arm's calibration, as the recorder wrote
them), images of another size than the training data's (resized, said once), the observation history at
the dataset's frame spacing whatever the inference rate (control.observation_history), and the rtc
prefix (the setpoints the executor still has to play, resampled onto the new chunk's grid and continued
by guided inference for flow and diffusion). The node only feeds it messages and publishes its chunks.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from robolearn_core.calibration import ArmCalibration
from robolearn_core.control.chunk import Chunk
from robolearn_core.control.observation_history import ObservationHistory
from robolearn_core.control.rtc import rtc_prefix
from robolearn_core.policies.checkpoint import load_policy
from robolearn_core.policies.deployment import Deployment, DeploymentMetadataError, read_deployment
from robolearn_core.so_arm.frame_schema import POSITION_NAMES, STATE_KEY, FrameSchema, image_key

#: policies whose sampler continues a prefix (guided inference); ACT and mlp continue through the executor's merge
PREFIX_POLICIES = ('flow', 'diffusion')
CAMERA_PREFIX = 'observation.images.'


class DeployedPolicy:
    """``observe`` every synchronised observation with its time; ``infer`` a chunk for the newest one."""

    def __init__(self, checkpoint: str | Path, device: str = 'cpu', calibration: ArmCalibration | None = None,
                 overrides: Mapping | None = None, dtype: str = 'float32', cuda_graph: bool = False,
                 inference: Mapping | None = None) -> None:
        """``overrides``: deployment metadata the checkpoint lacks; ``inference``: sampling settings that replace the
        checkpoint's (checkpoint.INFERENCE_SETTINGS, e.g. ``{'inference_noise': 'episode'}``)."""
        self._bind(checkpoint, read_deployment(checkpoint, overrides), calibration)
        self.policy = load_policy(checkpoint, device, inference)
        if dtype != 'float32':
            self.policy.set_inference_dtype(getattr(torch, dtype))
        if cuda_graph:
            self.policy.use_cuda_graph(True)
        self.config = self.policy.config
        self.history = ObservationHistory(self.config.n_obs_steps, self.deployment.fps)
        self.supports_prefix = self.config.name in PREFIX_POLICIES
        self.resized: dict[str, tuple[int, int]] = {}  # camera -> size it arrives at, where it differs

    def _bind(self, checkpoint: str | Path, deployment: Deployment, calibration: ArmCalibration | None) -> None:
        """Check that ``deployment`` fits this arm and its camera topics; its cameras and frame schema."""
        self.deployment = d = deployment
        for what, names in (('action', d.action_names), ('state', d.state_names)):
            if names is not None and list(names) != list(POSITION_NAMES):
                raise DeploymentMetadataError(f'checkpoint {checkpoint}: its {what} features are {names}, not the SO '
                                              f'arm joints {list(POSITION_NAMES)}: it was not trained for this arm')
        unknown = [k for k in d.cameras if not k.startswith(CAMERA_PREFIX)]
        if unknown:
            raise DeploymentMetadataError(f'checkpoint {checkpoint}: camera keys {unknown} are not '
                                          f'{CAMERA_PREFIX}<name>: no camera topic can feed them')
        if d.units == 'so_lerobot' and calibration is None:
            raise DeploymentMetadataError(f'checkpoint {checkpoint} works in LeRobot SO units (degrees, gripper '
                                          '0..100): give the follower calibration file to convert them to radians')
        self.cameras = [k[len(CAMERA_PREFIX):] for k in d.cameras]
        self.schema = FrameSchema(tuple(self.cameras), *((calibration, calibration) if d.units == 'so_lerobot' else ()))

    @property
    def fps(self) -> float:
        return self.deployment.fps

    @property
    def horizon_s(self) -> float:
        return (self.config.horizon - 1) / self.fps

    def reset(self) -> None:
        """A new episode: no history from the last one."""
        self.history.reset()
        self.policy.reset()

    def observe(self, t: float, state_rad: np.ndarray | None, images: Mapping[str, np.ndarray]) -> list[str]:
        """Add the observation taken at ``t``: joint radians and rgb (H, W, 3) uint8 per camera name.

        Returns notes to log once (a camera resized because its size differs from the training data's).
        """
        obs = {}
        if self.config.uses_state:
            obs[STATE_KEY] = self.schema.state_values(state_rad)
        notes = []
        for cam in self.cameras:
            key = image_key(cam)
            h, w = self.deployment.cameras[key]
            image = torch.from_numpy(np.ascontiguousarray(images[cam])).permute(2, 0, 1)
            if image.shape[1:] != (h, w):
                if cam not in self.resized:
                    self.resized[cam] = tuple(image.shape[1:])
                    notes.append(f'camera {cam}: images are {image.shape[1]}x{image.shape[2]}, the policy was trained '
                                 f'on {h}x{w}: resizing (antialiased bilinear)')
                image = resize_uint8(image, (h, w))
            obs[key] = image
        self.history.add(t, obs)
        return notes

    def infer(self, t: float, pending: Chunk | None = None, delay: float = 0.0) -> Chunk | None:
        """The chunk for the observation at ``t`` (stamp ``t``, points 1/fps apart, radians); None before any.

        ``pending``: the setpoints the executor still has to play (a request's points); flow and diffusion
        continue them (real-time chunking, with ``delay`` the expected seconds from ``t`` to the chunk's arrival).
        """
        frames = self.history.frames(t)
        if frames is None:
            return None
        options = {}
        if pending is not None and self.supports_prefix:
            grid = t + np.arange(self.config.horizon) / self.fps
            prefix, weights = rtc_prefix(pending.abs_times, pending.positions, grid, delay)
            if len(prefix):
                options = {'prefix': self.schema.radians_to_actions(prefix), 'prefix_weights': weights}
        actions = self.policy.predict_chunk(observation_frames=frames, **options)
        return Chunk.from_fps(t, self.schema.actions_to_radians(actions), self.fps)

    def warm_up(self, calls: int) -> float:
        """Run ``calls`` inferences on a blank observation (first calls allocate, autotune, capture graphs); the
        last call's seconds. Flow and diffusion also run each call guided by the chunk before (what the executor
        asks for from its second request on): the guided path has a backward pass of its own, and on the GPU its
        first calls took 0.7-4.6 s against 0.16 s after (measured, docs/deployment.md). The history is left empty."""
        blank_state = np.zeros(len(POSITION_NAMES)) if self.config.uses_state else None
        blank_images = {cam: np.zeros((*self.deployment.cameras[image_key(cam)], 3), np.uint8) for cam in self.cameras}
        seconds = 0.0
        for _ in range(calls):
            self.reset()
            self.observe(0.0, blank_state, blank_images)
            start = time.perf_counter()
            chunk = self.infer(0.0)
            if self.supports_prefix and chunk is not None:
                start = time.perf_counter()
                self.infer(0.0, pending=chunk.after(chunk.abs_times[len(chunk) // 2]), delay=0.1)
            seconds = time.perf_counter() - start
        self.reset()
        return seconds


def resize_uint8(image: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """(3, H, W) uint8 -> (3, h, w) uint8, antialiased bilinear (as a camera driver's scaler would)."""
    out = torch.nn.functional.interpolate(image[None].float(), size=hw, mode='bilinear', antialias=True, align_corners=False)
    return out[0].round().clamp(0, 255).to(torch.uint8)
