"""Checkpoints: ``config.json`` (policy name + config), ``model.safetensors``, ``normalization.safetensors``.

Why three files: the config and stats are readable without torch and the weights load with no pickle;
``load_policy`` rebuilds the model from the config alone and refuses weights that do not fit it,
naming each tensor that is missing, unexpected or of the wrong shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from .common.base import Policy
from .common.config import PolicyConfig
from .common.normalization import Normalizer
from .registry import policy_classes

CONFIG_FILE = 'config.json'
WEIGHTS_FILE = 'model.safetensors'
STATS_FILE = 'normalization.safetensors'
FORMAT_VERSION = 1


def save_policy(policy: Policy, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write the three files into ``directory`` (created); ``extra`` goes into config.json (e.g. the step), and
    so does ``policy.deployment`` (the training data's fps, names, cameras and units) when it is set."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {'format': FORMAT_VERSION, 'policy': policy.config.name, 'config': policy.config.to_dict()}
    if policy.deployment is not None:  # what deployment needs of the training data (policies/deployment.py)
        meta['deployment'] = policy.deployment
    meta.update(extra or {})
    weights = {k: v.detach().cpu().contiguous() for k, v in policy.state_dict().items()}
    # write to temporary names first so a crash never leaves a half-written checkpoint under the real names
    tmp_weights, tmp_stats, tmp_cfg = (directory / f'.{n}.tmp' for n in (WEIGHTS_FILE, STATS_FILE, CONFIG_FILE))
    save_file(weights, str(tmp_weights))
    save_file(policy.normalizer.stats_dict(), str(tmp_stats))
    tmp_cfg.write_text(json.dumps(meta, indent=2))
    tmp_weights.replace(directory / WEIGHTS_FILE)
    tmp_stats.replace(directory / STATS_FILE)
    tmp_cfg.replace(directory / CONFIG_FILE)
    return directory


def read_checkpoint_config(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found: {directory} is not a policy checkpoint '
                                f'(expected {CONFIG_FILE}, {WEIGHTS_FILE}, {STATS_FILE})')
    meta = json.loads(path.read_text())
    for key in ('policy', 'config'):
        if key not in meta:
            raise ValueError(f'{path} lacks {key!r}; it was not written by save_policy')
    return meta


def config_from_meta(meta: dict[str, Any]) -> PolicyConfig:
    """The policy config stored in a checkpoint's config.json."""
    config_cls, _ = policy_classes(meta['policy'])
    return config_cls.from_dict(meta['config'])


#: config fields that only change how a trained policy samples, which deployment may set per run
INFERENCE_SETTINGS = ('num_inference_steps', 'inference_noise', 'inference_latent')


def load_policy(directory: str | Path, device: str | torch.device = 'cpu',
                inference: Mapping[str, Any] | None = None) -> Policy:
    """Rebuild the policy of a checkpoint on ``device``, in eval mode (``policy.deployment``: None if it has none).

    ``inference``: INFERENCE_SETTINGS that replace the checkpoint's (values may be strings, as from a command line).
    """
    directory = Path(directory)
    meta = read_checkpoint_config(directory)
    _, policy_cls = policy_classes(meta['policy'])
    config = config_from_meta(meta)
    if inference:
        other = sorted(set(inference) - set(INFERENCE_SETTINGS))
        if other:
            raise ValueError(f'{", ".join(other)}: not an inference setting (these are: {", ".join(INFERENCE_SETTINGS)}); '
                             'the rest of a checkpoint\'s config is what its weights were trained with')
        try:
            config = config.with_overrides(inference)
        except ValueError as err:
            raise ValueError(f'checkpoint {directory} ({meta["policy"]}): {err}') from err
    for name in (WEIGHTS_FILE, STATS_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(f'checkpoint {directory} lacks {name}')
    stats = Normalizer.stats_from_dict(load_file(str(directory / STATS_FILE)))
    try:
        policy = policy_cls(config, stats)
    except ValueError as err:
        raise ValueError(f'checkpoint {directory}: {err}') from err
    weights = load_file(str(directory / WEIGHTS_FILE))
    own = policy.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    wrong = [f'{k} {tuple(weights[k].shape)} (config needs {tuple(own[k].shape)})'
             for k in own if k in weights and weights[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f'missing weights: {", ".join(missing[:10])}' + (' ...' if len(missing) > 10 else ''))
        if unexpected:
            parts.append(f'weights the config has no place for: {", ".join(unexpected[:10])}'
                         + (' ...' if len(unexpected) > 10 else ''))
        if wrong:
            parts.append(f'wrong shapes: {"; ".join(wrong[:10])}')
        raise ValueError(f'checkpoint {directory} does not match its {CONFIG_FILE} ({meta["policy"]}): '
                         + ' | '.join(parts))
    policy.load_state_dict(weights)
    policy.deployment = meta.get('deployment')
    return policy.to(device).eval()
