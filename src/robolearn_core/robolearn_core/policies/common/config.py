"""Fields every policy config has, the checks on them, and binding a config to a dataset's features."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from .normalization import MODES

VISION_NORMS = ('batch', 'group', 'frozen_batch')
IMAGE_RESIZE_MODES = ('resize', 'crop')


@dataclasses.dataclass(kw_only=True)
class PolicyConfig:
    """Shared shape of a policy: which features it reads and writes, their sizes, and normalization.

    ``state_dim``, ``action_dim`` and ``image_shapes`` are filled from the dataset by :meth:`bind`; the
    trainer does that, so a user sets only what differs from the defaults. ``camera_keys=None`` means
    every camera of the dataset; ``[]`` means state only.
    """

    name: ClassVar[str] = ''
    #: defaults for `fit` (steps, batch_size, lr, ...) that train this policy out of the box
    train_defaults: ClassVar[dict[str, Any]] = {}

    state_key: str = 'observation.state'
    action_key: str = 'action'
    camera_keys: list[str] | None = None
    state_dim: int = 0
    action_dim: int = 0
    image_shapes: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    horizon: int = 16
    n_obs_steps: int = 1
    state_norm: str = 'mean_std'
    action_norm: str = 'mean_std'
    image_norm: str = 'mean_std'
    # images: the camera's frame (image_shapes) -> image_size at load and at inference -> crop -> the network
    #: [H, W] every camera is brought to when the dataset is loaded (and each observation at inference); None: as recorded
    image_size: list[int] | None = None
    #: how frames reach image_size: 'resize' (bilinear, antialiased) or 'crop' (the centre, no scaling)
    image_resize: str = 'resize'
    #: augmentation (Diffusion Policy's): a random crop of this fraction of each side in training, the centre crop at eval
    crop_ratio: float = 1.0
    #: augmentation: random brightness, contrast and saturation factors in [1 - x, 1 + x] in training (0: off)
    color_jitter: float = 0.0
    #: augmentation: Gaussian noise of this std added to the normalized state in training, each history frame its
    #: own draw (0: off). A policy that copies the state into its actions with a gain above 1 amplifies its own
    #: drift in closed loop; noisy training states lower that gain and move the weight to the cameras.
    state_noise: float = 0.0
    # vision encoder
    vision_width: int = 64
    #: 'batch', 'group' (Diffusion Policy, from scratch) or 'frozen_batch' (ACT: pretrained statistics kept fixed)
    vision_norm: str = 'group'
    #: torchvision-format resnet18 weights the backbone starts from (a file, or 'imagenet'); read by fit, not by load_policy
    pretrained_backbone: str | None = None

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f'horizon must be >= 1, got {self.horizon}')
        if self.n_obs_steps < 1:
            raise ValueError(f'n_obs_steps must be >= 1, got {self.n_obs_steps}')
        for field in ('state_norm', 'action_norm', 'image_norm'):
            if getattr(self, field) not in MODES:
                raise ValueError(f'{field} must be one of {MODES}, got {getattr(self, field)!r}')
        if self.vision_norm not in VISION_NORMS:
            raise ValueError(f'vision_norm must be one of {VISION_NORMS}, got {self.vision_norm!r}')
        if self.vision_norm == 'frozen_batch' and not self.pretrained_backbone:
            raise ValueError('vision_norm frozen_batch keeps the BatchNorm statistics of pretrained weights: '
                             'give pretrained_backbone (a resnet18 weights file or imagenet)')
        if self.image_size is not None:
            self.image_size = [int(v) for v in self.image_size]
            if len(self.image_size) != 2 or min(self.image_size) < 1:
                raise ValueError(f'image_size must be [height, width], got {self.image_size}')
        if self.image_resize not in IMAGE_RESIZE_MODES:
            raise ValueError(f'image_resize must be one of {IMAGE_RESIZE_MODES}, got {self.image_resize!r}')
        if not 0 < self.crop_ratio <= 1:
            raise ValueError(f'crop_ratio must be in (0, 1], got {self.crop_ratio}')
        if not 0 <= self.color_jitter < 1:
            raise ValueError(f'color_jitter must be in [0, 1), got {self.color_jitter}')
        if self.state_noise < 0:
            raise ValueError(f'state_noise must be >= 0 (a std in normalized state units), got {self.state_noise}')
        if self.vision_width < 1:
            raise ValueError(f'vision_width must be >= 1, got {self.vision_width}')
        if self.state_dim < 0 or self.action_dim < 0:
            raise ValueError('state_dim and action_dim must be >= 0')
        if self.camera_keys is not None:
            self.camera_keys = list(self.camera_keys)
        self.image_shapes = {k: list(v) for k, v in self.image_shapes.items()}
        for key, shape in self.image_shapes.items():
            if len(shape) != 3 or shape[0] != 3:
                raise ValueError(f'image shape of {key!r} must be (3, H, W), got {shape}')
            if self.image_resize == 'crop' and self.image_size and (
                    self.image_size[0] > shape[1] or self.image_size[1] > shape[2]):
                raise ValueError(f'image_size {self.image_size} cannot be cropped from {key!r} of '
                                 f'{shape[1]}x{shape[2]}: use image_resize=resize')

    # --- images -------------------------------------------------------------------------------------
    def loaded_hw(self, key: str) -> tuple[int, int]:
        """(H, W) of a camera's frames after loading: image_size, or as recorded."""
        if self.image_size:
            return self.image_size[0], self.image_size[1]
        _, h, w = self.image_shapes[key]
        return h, w

    def input_hw(self, key: str) -> tuple[int, int]:
        """(H, W) the vision backbone sees: the loaded frame cropped by crop_ratio."""
        h, w = self.loaded_hw(key)
        return max(1, round(h * self.crop_ratio)), max(1, round(w * self.crop_ratio))

    # --- dataset binding ---------------------------------------------------------------------------
    @property
    def bound(self) -> bool:
        return self.action_dim > 0 and self.camera_keys is not None

    @property
    def uses_state(self) -> bool:
        return self.state_dim > 0

    def bind(self, features: Mapping[str, Mapping[str, Any]], camera_keys: list[str]) -> 'PolicyConfig':
        """A copy sized to a dataset; raises ValueError naming every feature the policy needs but it lacks."""
        missing = [k for k in (self.action_key,) if k not in features]
        cams = list(camera_keys) if self.camera_keys is None else list(self.camera_keys)
        missing += [k for k in cams if k not in features]
        use_state = self.state_key in features
        if not use_state and self.state_key != '':
            missing.append(self.state_key)
        if missing:
            raise ValueError(f'dataset lacks feature(s) the {self.name} policy needs: {", ".join(missing)} '
                             f'(dataset has: {", ".join(sorted(features))}); record them, or change '
                             f'state_key/action_key/camera_keys in the policy config')
        image_shapes = {}
        for key in cams:
            shape = list(features[key]['shape'])
            # LeRobot stores video shapes as (H, W, C)
            image_shapes[key] = [shape[2], shape[0], shape[1]] if shape[-1] == 3 else shape
        return dataclasses.replace(
            self, camera_keys=cams, image_shapes=image_shapes,
            state_dim=int(features[self.state_key]['shape'][0]) if use_state else 0,
            action_dim=int(features[self.action_key]['shape'][0]))

    def require_bound(self) -> None:
        if not self.bound:
            raise ValueError(f'{self.name} config is not bound to a dataset (action_dim={self.action_dim}, '
                             f'camera_keys={self.camera_keys}); call config.bind(features, camera_keys)')
        if not self.uses_state and not self.camera_keys:
            raise ValueError(f'{self.name} policy has no input: the dataset has neither {self.state_key!r} '
                             f'nor a camera')

    def normalization_modes(self) -> dict[str, str]:
        modes = {self.action_key: self.action_norm}
        if self.uses_state:
            modes[self.state_key] = self.state_norm
        for key in self.camera_keys or []:
            modes[key] = self.image_norm
        return modes

    # --- (de)serialization -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> 'PolicyConfig':
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f'{cls.name} config has unknown field(s): {", ".join(unknown)} '
                             f'(known: {", ".join(sorted(known))})')
        return cls(**data)

    def with_overrides(self, overrides: Mapping[str, Any]) -> 'PolicyConfig':
        """A copy with fields replaced (values given as strings, e.g. from the command line, are parsed)."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        values = {}
        for key, value in overrides.items():
            if key not in fields:
                raise ValueError(f'{self.name} config has no field {key!r} (fields: {", ".join(sorted(fields))})')
            values[key] = _parse_like(value, getattr(self, key), key)
        return dataclasses.replace(self, **values)


def _parse_like(value: Any, current: Any, key: str) -> Any:
    if not isinstance(value, str):
        return value
    import json
    if isinstance(current, str) or (current is None and key == 'pretrained_backbone'):
        return value
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        if current is None:
            return value
        raise ValueError(f'cannot parse {key}={value!r} (expected JSON like {json.dumps(current)})') from None
    if isinstance(current, tuple):
        parsed = tuple(parsed)
    return parsed
