"""What a deployed policy must know of the data it was trained on, carried in its checkpoint.

Why in the checkpoint: the policy node turns topics into observations and chunks into joint trajectories,
and each step needs a fact of the training data that the weights do not hold: the dataset's fps (the
chunk's time_from_start and the history spacing), the state and action feature names (which joint is
which column), the camera keys and image sizes (which topic feeds which input, and whether to resize),
and the units ('so_lerobot': LeRobot's SO convention, degrees and gripper 0..100 through the arm's
calibration; 'radians': the topics' own unit). ``fit`` stores them in config.json under ``deployment``.

The units are not in LeRobot's info.json; they are inferred from the dataset: SO joint feature names
(``<joint>.pos``) with values beyond 2 pi can only be degrees or percent ('so_lerobot'); all within
pi + 0.5 are radians; anything else (another robot, an ambiguous range) stays unknown and must be given.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..so_arm.frame_schema import POSITION_NAMES
from .checkpoint import CONFIG_FILE, config_from_meta, read_checkpoint_config
from .common.config import PolicyConfig

DEPLOYMENT_KEY = 'deployment'
UNITS = ('so_lerobot', 'radians')


class DeploymentMetadataError(ValueError):
    """A checkpoint lacks what deployment needs; the message names each missing value and how to supply it."""


@dataclass(frozen=True)
class Deployment:
    fps: float
    action_names: list[str]
    units: str                                   # one of UNITS
    state_names: list[str] | None = None         # None: the policy reads no state
    cameras: dict[str, tuple[int, int]] = field(default_factory=dict)  # dataset key -> (height, width)
    robot_type: str | None = None


def deployment_metadata(source: Any, config: PolicyConfig) -> dict[str, Any]:
    """The ``deployment`` entry of a checkpoint for a policy (bound ``config``) trained on ``source`` (a FrameSource).

    ``source.info`` (the reader's meta/info.json) gives the robot_type where there is one; values that cannot
    be known from the data are None (read_deployment then names them).
    """
    info = getattr(source, 'info', None) or {}
    state_names = _feature_names(source.features, config.state_key) if config.uses_state else None
    action_names = _feature_names(source.features, config.action_key)
    keys = [config.action_key] + ([config.state_key] if config.uses_state else [])
    return {
        'fps': source.fps,
        'robot_type': info.get('robot_type'),
        'state_names': state_names,
        'action_names': action_names,
        'cameras': {key: list(config.image_shapes[key][1:]) for key in config.camera_keys or []},
        'units': infer_units([state_names, action_names], [source.stats.get(k, {}) for k in keys]),
    }


def infer_units(name_lists: list[list[str] | None], stats: list[Mapping[str, Any]]) -> str | None:
    """'so_lerobot', 'radians' or None (not SO joints, or a range that could be either)."""
    if any(names is not None and list(names) != list(POSITION_NAMES) for names in name_lists):
        return None
    if all(names is None for names in name_lists):
        return None
    extremes = [np.max(np.abs(np.asarray(s[k], dtype=np.float64))) for s in stats for k in ('min', 'max') if k in s]
    if not extremes:
        return None
    largest = max(extremes)
    if largest > 2 * math.pi:
        return 'so_lerobot'
    return 'radians' if largest <= math.pi + 0.5 else None


def read_deployment(checkpoint_dir: str | Path, overrides: Mapping[str, Any] | None = None) -> Deployment:
    """The deployment metadata of a checkpoint; ``overrides`` supplies or replaces values (e.g. from node parameters).

    Raises DeploymentMetadataError naming every missing value, for checkpoints saved before they carried it.
    """
    meta = read_checkpoint_config(checkpoint_dir)
    stored = meta.get(DEPLOYMENT_KEY) or {}
    values = {**stored, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    config = meta['config']
    if values.get('cameras') is None:  # the config has the policy's cameras and sizes, (3, H, W)
        values['cameras'] = {k: list(v[1:]) for k, v in (config.get('image_shapes') or {}).items()}
    needed = ['fps', 'action_names', 'units'] + (['state_names'] if config.get('state_dim', 0) > 0 else [])
    missing = [k for k in needed if values.get(k) is None]
    if missing:
        why = 'it was saved before checkpoints carried it' if not stored else 'the dataset did not tell them'
        raise DeploymentMetadataError(
            f'checkpoint {checkpoint_dir} lacks deployment metadata {missing} ({why}). Add it from the dataset it was '
            f'trained on: `fit --resume {checkpoint_dir} --dataset DATASET --steps <its step + 1>` saves it again with '
            f'the metadata, or write_deployment({str(checkpoint_dir)!r}, DatasetReader(DATASET)) adds it in place; '
            f'or pass the values explicitly (read_deployment(..., overrides={{{", ".join(f"{k!r}: ..." for k in missing)}}}), '
            f'the policy node\'s parameters). units: one of {UNITS}.')
    if values['units'] not in UNITS:
        raise DeploymentMetadataError(f'checkpoint {checkpoint_dir}: units {values["units"]!r} is not one of {UNITS}')
    return Deployment(fps=float(values['fps']), action_names=list(values['action_names']), units=values['units'],
                      state_names=None if values.get('state_names') is None else list(values['state_names']),
                      cameras={k: (int(v[0]), int(v[1])) for k, v in values['cameras'].items()},
                      robot_type=values.get('robot_type'))


def write_deployment(checkpoint_dir: str | Path, source: Any) -> dict[str, Any]:
    """Add (or refresh) a checkpoint's deployment metadata from the dataset it was trained on, weights untouched."""
    meta = read_checkpoint_config(checkpoint_dir)
    meta[DEPLOYMENT_KEY] = deployment_metadata(source, config_from_meta(meta))
    path = Path(checkpoint_dir) / CONFIG_FILE
    tmp = path.with_name(f'.{CONFIG_FILE}.tmp')
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(path)
    return meta[DEPLOYMENT_KEY]


def _feature_names(features: Mapping[str, Mapping[str, Any]], key: str) -> list[str] | None:
    names = features.get(key, {}).get('names')
    if isinstance(names, Mapping) and len(names) == 1:  # older LeRobot layouts: {"motors": [...]}
        names = next(iter(names.values()))
    return [str(n) for n in names] if isinstance(names, list | tuple) else None
