"""The one interface every policy offers: a training loss, batched sampling, and ``predict_chunk``.

Batches (training and sampling) are dicts of tensors in dataset units: state ``(B, n_obs_steps, S)``,
each camera ``(B, n_obs_steps, 3, H, W)`` (uint8 0..255 or float 0..1), ``action`` ``(B, horizon, A)``
and ``action_is_pad`` ``(B, horizon)`` bool. Normalization happens inside the policy, so callers never
see normalized values.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .config import PolicyConfig
from .image_transforms import prepare_images
from .normalization import Normalizer


class Policy(nn.Module):
    config_class: ClassVar[type[PolicyConfig]] = PolicyConfig

    def __init__(self, config: PolicyConfig, stats: Mapping[str, Mapping[str, Any]]):
        super().__init__()
        config.require_bound()
        self.config = config
        self.normalizer = Normalizer(config.normalization_modes(), stats)
        self._history: deque[dict[str, torch.Tensor]] = deque(maxlen=config.n_obs_steps)
        self._graph_dtype: torch.dtype | None | bool = False  # False: no CUDA graph
        self._graph = None
        #: what deployment needs to know of the training data (fps, feature names, cameras, units), written
        #: into the checkpoint by save_policy; see policies/deployment.py. None when unknown.
        self.deployment: dict[str, Any] | None = None

    # --- to implement -------------------------------------------------------------------------------
    def loss(self, batch: Mapping[str, torch.Tensor], generator: torch.Generator | None = None
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss on a batch, and named detached parts of it for logging (no GPU sync here)."""
        raise NotImplementedError

    def sample_normalized(self, batch: Mapping[str, torch.Tensor], generator: torch.Generator | None = None,
                          **options: Any) -> torch.Tensor:
        """(B, horizon, A) normalized actions for a batch of observations."""
        raise NotImplementedError

    # --- shared -------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def observation_inputs(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """Normalized (B, T, S) state and {camera: (B, T, 3, H, W)} from a batch in dataset units."""
        cfg = self.config
        state = None
        if cfg.uses_state:
            state = self.normalizer.normalize(cfg.state_key, batch[cfg.state_key].float())
            if self.training and cfg.state_noise > 0:
                state = state + cfg.state_noise * torch.randn_like(state)
        images = {}
        for key in cfg.camera_keys or []:
            img = prepare_images(batch[key], cfg, key, self.training)
            images[key] = self.normalizer.normalize(key, img)
        return state, images

    def normalized_actions(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalized (B, horizon, A) actions and the (B, horizon, 1) float mask of real (not padded) steps."""
        cfg = self.config
        actions = self.normalizer.normalize(cfg.action_key, batch[cfg.action_key].float())
        pad = batch.get(f'{cfg.action_key}_is_pad')
        valid = torch.ones(actions.shape[:2], device=actions.device) if pad is None else (~pad).float()
        return actions, valid.unsqueeze(-1)

    @torch.no_grad()
    def sample_actions(self, batch: Mapping[str, torch.Tensor], generator: torch.Generator | None = None,
                       **options: Any) -> torch.Tensor:
        """(B, horizon, A) actions in dataset units."""
        normalized = self.sample_normalized(batch, generator=generator, **options)
        return self.normalizer.unnormalize(self.config.action_key, normalized.float())

    def use_cuda_graph(self, enabled: bool = True, autocast_dtype: torch.dtype | None = None) -> None:
        """On CUDA, run ``predict_chunk`` (default options only) as one captured graph; optionally under autocast."""
        self._graph_dtype = autocast_dtype if enabled else False
        self._graph = None

    def set_inference_dtype(self, dtype: torch.dtype) -> 'Policy':
        """Keep the networks' weights in ``dtype`` (e.g. bfloat16) for inference; normalization, noise and the
        sampler's arithmetic stay float32. On CUDA, image-conv weights also go channels-last.

        Why not autocast: autocast re-casts every weight on every call, which at batch 1 doubles the
        number of kernels. Each sub-network casts its (>= 2-D) float inputs to ``dtype`` and its outputs
        back to float32; 1-D inputs (diffusion/flow time) stay exact.
        """
        for name, child in self.named_children():
            if name == 'normalizer':
                continue
            child.to(dtype)
            if self.device.type == 'cuda':  # cuDNN's native layout: no per-call conversion of image-conv weights
                child.to(memory_format=torch.channels_last)
            if not getattr(child, '_robolearn_cast_hooks', False):
                child.register_forward_pre_hook(_cast_inputs, with_kwargs=True)
                child.register_forward_hook(_outputs_to_float)
                child._robolearn_cast_hooks = True
        self._graph = None
        return self

    def reset(self) -> None:
        """Forget the observation history (call at the start of an episode)."""
        self._history.clear()

    def observation_batch(self, observation: Mapping[str, Any] | None = None,
                          frames: Sequence[Mapping[str, Any]] | None = None) -> dict[str, torch.Tensor]:
        """A batch of one with ``n_obs_steps`` frames (dataset layout: state (S,), images (3, H, W)).

        ``frames``: the whole history, oldest first, already 1/fps apart (control.observation_history picks
        them by time); the policy's own history is neither used nor changed. ``observation``: one frame,
        appended to the policy's own history, once per call (a chunk apart when called once a chunk).
        """
        cfg = self.config
        if frames is not None:
            if len(frames) != cfg.n_obs_steps:
                raise ValueError(f'observation_frames has {len(frames)} frames; the {cfg.name} policy takes '
                                 f'n_obs_steps={cfg.n_obs_steps}, oldest first, 1/fps apart')
            history = [self._observation_frame(f) for f in frames]
        elif observation is None:
            raise ValueError('give an observation or observation_frames')
        else:
            frame = self._observation_frame(observation)
            if not self._history:
                self._history.extend([frame] * cfg.n_obs_steps)
            else:
                self._history.append(frame)
            history = list(self._history)
        return {k: torch.stack([f[k] for f in history])[None] for k in history[0]}

    def _observation_frame(self, observation: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """One observation's tensors on the policy's device, checked against the features the policy reads."""
        cfg = self.config
        needed = ([cfg.state_key] if cfg.uses_state else []) + list(cfg.camera_keys or [])
        missing = [k for k in needed if k not in observation]
        if missing:
            raise KeyError(f'observation lacks {", ".join(missing)} (the {cfg.name} policy needs: {", ".join(needed)})')
        device = self.device
        frame = {}
        for key in needed:
            raw = observation[key]
            value = (raw if torch.is_tensor(raw) else torch.from_numpy(np.array(raw))).to(device)
            # a camera frame as recorded, or already brought to image_size
            expected = [[cfg.state_dim]] if key == cfg.state_key else [cfg.image_shapes[key], [3, *cfg.loaded_hw(key)]]
            if list(value.shape) not in [list(e) for e in expected]:
                raise ValueError(f'observation {key!r} has shape {tuple(value.shape)}, the policy expects '
                                 f'{" or ".join(str(tuple(e)) for e in expected)}')
            frame[key] = value
        return frame

    @torch.no_grad()
    def predict_chunk(self, observation: Mapping[str, Any] | None = None, generator: torch.Generator | None = None,
                      *, observation_frames: Sequence[Mapping[str, Any]] | None = None, **options: Any) -> np.ndarray:
        """(horizon, action_dim) float32 actions in dataset units for one observation, or for an explicit history
        (``observation_frames``: n_obs_steps observations, oldest first, 1/fps apart; see observation_batch)."""
        was_training = self.training
        self.eval()
        try:
            batch = self.observation_batch(observation, observation_frames)
            if self._graph_dtype is not False and not options and generator is None and self.device.type == 'cuda':
                if self._graph is None:
                    from .cuda_graph import GraphedSampler
                    self._graph = GraphedSampler(self, batch, self._graph_dtype)
                actions = self._graph(batch)
            else:
                actions = self.sample_actions(batch, generator=generator, **options)
        finally:
            self.train(was_training)
        return actions[0].float().cpu().numpy()


def _param_dtype(module: nn.Module) -> torch.dtype:
    return next((p.dtype for p in module.parameters()), torch.float32)


def _cast(value: Any, dtype: torch.dtype) -> Any:
    if torch.is_tensor(value) and value.is_floating_point() and value.dim() >= 2:
        return value.to(dtype)
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    return value


def _cast_inputs(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    dtype = _param_dtype(module)
    return tuple(_cast(a, dtype) for a in args), {k: _cast(v, dtype) for k, v in kwargs.items()}


def _outputs_to_float(module: nn.Module, args: tuple, output: Any) -> Any:
    if torch.is_tensor(output) and output.is_floating_point():
        return output.float()
    if isinstance(output, tuple):
        return tuple(o.float() if torch.is_tensor(o) and o.is_floating_point() else o for o in output)
    return output
