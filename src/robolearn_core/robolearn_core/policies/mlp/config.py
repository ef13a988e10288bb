"""Configuration of the MLP baseline."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from ..common.config import PolicyConfig


@dataclasses.dataclass(kw_only=True)
class MLPConfig(PolicyConfig):
    name: ClassVar[str] = 'mlp'
    train_defaults: ClassVar[dict[str, Any]] = {
        'steps': 20000, 'batch_size': 64, 'lr': 1e-3, 'weight_decay': 1e-4, 'warmup_steps': 200,
        'schedule': 'cosine', 'grad_clip': 10.0}

    horizon: int = 16
    hidden_dims: tuple[int, ...] = (512, 512, 512)
    num_keypoints: int = 32
    image_feature_dim: int = 64
    dropout: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.hidden_dims = tuple(self.hidden_dims)
        if not self.hidden_dims or min(self.hidden_dims) < 1:
            raise ValueError(f'hidden_dims must be positive sizes, got {self.hidden_dims}')
        if not 0 <= self.dropout < 1:
            raise ValueError(f'dropout must be in [0, 1), got {self.dropout}')
