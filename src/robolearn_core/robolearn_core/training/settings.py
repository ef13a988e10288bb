"""What `fit` does (TrainSettings), how unset values take the policy's defaults, and what a resume may change.

A run is defined by its optimization (lr, batch, schedule, betas, EMA, seed, the validation split, ...):
a resumed run keeps the saved values, and a command-line value that contradicts one of them is refused
with a message, not silently applied half way through. How a run is executed (steps to reach, device,
workers, logging, time limit) may change on resume.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

SCHEDULES = ('cosine', 'linear', 'constant')
#: fields a resume keeps from the saved run (a differing value given again is an error)
FIXED_ON_RESUME = ('batch_size', 'lr', 'backbone_lr', 'weight_decay', 'warmup_steps', 'schedule', 'grad_clip',
                   'adam_betas', 'ema_decay', 'seed', 'amp', 'val_episodes')
#: fields that take the policy config's ``train_defaults`` when unset
POLICY_DEFAULTED = ('steps', 'batch_size', 'lr', 'weight_decay', 'warmup_steps', 'schedule', 'grad_clip',
                    'adam_betas', 'ema_decay')


@dataclasses.dataclass
class TrainSettings:
    """What `fit` does; None means the policy's own default (its config's ``train_defaults``) or the value below."""

    output_dir: str
    steps: int | None = None
    batch_size: int | None = None  # per process (GPU) under torchrun
    lr: float | None = None
    backbone_lr: float | None = None  # the vision backbone's lr (ACT's recipe); None: lr
    weight_decay: float | None = None
    warmup_steps: int | None = None
    schedule: str | None = None
    grad_clip: float | None = None
    adam_betas: tuple[float, float] | None = None
    ema_decay: float | None = None  # the EMA's largest decay (Diffusion Policy: 0.9999, power-0.75 warm-up); 0: off
    device: str = 'auto'
    amp: str | None = None        # auto: bf16 autocast on CUDA, off on CPU; 'bf16' or 'off' to force
    workers: int = 2              # DataLoader worker processes (decoding into the cache; batches from the host)
    seed: int | None = None       # None: 0
    val_episodes: int | None = None  # held-out episodes; None or -1: 10% (at least 1 when there are >= 2 episodes)
    val_every: int = 1000
    val_max_frames: int = 2048
    save_every: int = 5000
    log_every: int = 50
    resume: str | None = None
    data_on_device: str = 'auto'  # auto: the whole table on the GPU when it fits in 40% of free memory
    cache_dir: str | None = None  # decoded-frame cache (None: frame_cache.default_cache_dir())
    cuda_graph: str = 'auto'      # auto: capture the training step as a CUDA graph on one GPU; 'on', 'off'
    time_limit_s: float | None = None  # stop (saving last, writing the summary) after this much wall time
    recipe: str | None = None     # the name of the recipe the values came from (policies.recipes), for the record
    progress: bool = True

    def resolved(self, defaults: Mapping[str, Any]) -> 'TrainSettings':
        values = {k: defaults.get(k) if getattr(self, k) is None else getattr(self, k) for k in POLICY_DEFAULTED}
        values['adam_betas'] = tuple(values['adam_betas'] or (0.9, 0.999))
        values['ema_decay'] = values['ema_decay'] or 0.0
        out = dataclasses.replace(self, **values, amp=self.amp or 'auto', seed=self.seed or 0,
                                  val_episodes=-1 if self.val_episodes is None else self.val_episodes)
        if out.schedule not in SCHEDULES:
            raise ValueError(f'schedule must be one of {SCHEDULES}, got {out.schedule!r}')
        if out.steps < 1 or out.batch_size < 1 or out.lr <= 0 or (out.backbone_lr is not None and out.backbone_lr <= 0):
            raise ValueError('steps, batch_size, lr and backbone_lr must be positive')
        if out.amp not in ('auto', 'bf16', 'off'):
            raise ValueError(f"amp must be 'auto', 'bf16' or 'off', got {out.amp!r}")
        if not 0 <= out.ema_decay < 1:
            raise ValueError(f'ema_decay must be in [0, 1), got {out.ema_decay}')
        if len(out.adam_betas) != 2 or not all(0 <= b < 1 for b in out.adam_betas):
            raise ValueError(f'adam_betas must be two values in [0, 1), got {out.adam_betas}')
        if out.cuda_graph not in ('auto', 'on', 'off'):
            raise ValueError(f"cuda_graph must be 'auto', 'on' or 'off', got {out.cuda_graph!r}")
        if out.data_on_device not in ('auto', 'yes', 'no'):
            raise ValueError(f"data_on_device must be 'auto', 'yes' or 'no', got {out.data_on_device!r}")
        return out

    def continuing(self, saved: Mapping[str, Any], where: str) -> 'TrainSettings':
        """These settings for resuming the run saved as ``saved``: its fixed fields kept; a given value that
        contradicts one raises ValueError naming each."""
        clashes = []
        for name in FIXED_ON_RESUME:
            given, kept = getattr(self, name), saved.get(name)
            if given is not None and not _same(given, kept):
                clashes.append(f'--{name.replace("_", "-")} {_show(given)} (the run has {_show(kept)})')
        if clashes:
            raise ValueError(f'--resume {where} continues a run with other settings: {"; ".join(clashes)}. '
                             f'Leave these out to continue it, or start a new run (a new --output) to change them')
        kept = {name: tuple(saved[name]) if name == 'adam_betas' else saved[name]
                for name in FIXED_ON_RESUME if name in saved}
        return dataclasses.replace(self, **kept)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return b is not None and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    return a == b


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ','.join(_show(v) for v in value)
    return f'{value:g}' if isinstance(value, float) else str(value)


def lr_factor(step: int, settings: TrainSettings) -> float:
    """The schedule's multiplier of every group's peak lr at ``step`` (linear warm-up, then the decay)."""
    if step < settings.warmup_steps:
        return (step + 1) / settings.warmup_steps
    if settings.schedule == 'constant':
        return 1.0
    progress = min(1.0, (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps))
    if settings.schedule == 'linear':
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))
