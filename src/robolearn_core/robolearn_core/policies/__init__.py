"""Policies: mlp, act, diffusion, flow. One interface for all of them.

    policy = load_policy('runs/x/checkpoints/best')           # CPU, or device='cuda'
    chunk = policy.predict_chunk({'observation.state': s, 'observation.images.front': img})  # (horizon, A)
"""

from __future__ import annotations

from .act import ACTConfig, ACTPolicy
from .checkpoint import load_policy, save_policy
from .common.base import Policy
from .common.config import PolicyConfig
from .diffusion import DiffusionConfig, DiffusionPolicy
from .flow import FlowConfig, FlowPolicy
from .mlp import MLPConfig, MLPPolicy
from .registry import POLICIES, make_config, make_policy

__all__ = ['POLICIES', 'ACTConfig', 'ACTPolicy', 'DiffusionConfig', 'DiffusionPolicy', 'FlowConfig',
           'FlowPolicy', 'MLPConfig', 'MLPPolicy', 'Policy', 'PolicyConfig', 'load_policy', 'make_config',
           'make_policy', 'save_policy']
