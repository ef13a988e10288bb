"""Configuration of the flow-matching policy (10 Euler steps by default)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from ..common.chunk_generator import ChunkGeneratorConfig


@dataclasses.dataclass(kw_only=True)
class FlowConfig(ChunkGeneratorConfig):
    name: ClassVar[str] = 'flow'
    train_defaults: ClassVar[dict[str, Any]] = {
        'steps': 50000, 'batch_size': 64, 'lr': 1e-4, 'weight_decay': 1e-6, 'warmup_steps': 500,
        'schedule': 'cosine', 'grad_clip': 10.0, 'ema_decay': 0.9999}  # Chi et al.'s EMA; their betas: the recipes

    #: training times t are drawn as U(0, 1) ** time_power: > 1 puts more weight near the noise end (t=0)
    time_power: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.time_power <= 0:
            raise ValueError(f'time_power must be > 0, got {self.time_power}')
