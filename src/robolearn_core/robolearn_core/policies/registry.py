"""Policy names -> (config class, model class), and building a policy for a dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .act import ACTConfig, ACTPolicy
from .common.base import Policy
from .common.config import PolicyConfig
from .common.vision import load_pretrained_backbones
from .diffusion import DiffusionConfig, DiffusionPolicy
from .flow import FlowConfig, FlowPolicy
from .mlp import MLPConfig, MLPPolicy

POLICIES: dict[str, tuple[type[PolicyConfig], type[Policy]]] = {
    'mlp': (MLPConfig, MLPPolicy),
    'act': (ACTConfig, ACTPolicy),
    'diffusion': (DiffusionConfig, DiffusionPolicy),
    'flow': (FlowConfig, FlowPolicy),
}


def policy_classes(name: str) -> tuple[type[PolicyConfig], type[Policy]]:
    if name not in POLICIES:
        raise ValueError(f'unknown policy {name!r}; choose one of: {", ".join(POLICIES)}')
    return POLICIES[name]


def make_config(name: str, overrides: Mapping[str, Any] | None = None) -> PolicyConfig:
    """The default config of a policy with ``overrides`` applied (unbound: no dataset sizes yet)."""
    config_cls, _ = policy_classes(name)
    return config_cls().with_overrides(overrides or {})


def make_policy(config: PolicyConfig, features: Mapping[str, Mapping[str, Any]], camera_keys: list[str],
                stats: Mapping[str, Mapping[str, Any]]) -> Policy:
    """Bind ``config`` to a dataset (features, cameras, stats) and build the model; a new model's backbones start
    from ``pretrained_backbone`` (load_policy rebuilds from the config without it: the checkpoint has the weights)."""
    _, policy_cls = policy_classes(config.name)
    bound = config if config.bound else config.bind(features, camera_keys)
    policy = policy_cls(bound, stats)
    if bound.pretrained_backbone:
        load_pretrained_backbones(policy, bound.pretrained_backbone)
    return policy
