"""Map dataset units to the network's range and back, from the dataset's own stats.

Why one module: every policy normalizes inputs and un-normalizes its action chunk the same way, and the
stats travel with the checkpoint (``normalization.safetensors``), so a deployed policy never needs the
dataset.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

MODES = ('mean_std', 'min_max', 'identity')
_EPS = 1e-8


def _buffer_name(key: str, stat: str) -> str:
    return f'{key.replace(".", "__")}__{stat}'


class Normalizer(nn.Module):
    """Normalize/unnormalize named features; ``modes`` maps feature key -> one of :data:`MODES`.

    mean_std: (x - mean) / std;  min_max: to [-1, 1];  identity: unchanged. Statistics broadcast
    against the feature's trailing dims (images: (C, 1, 1)).
    """

    def __init__(self, modes: Mapping[str, str], stats: Mapping[str, Mapping[str, np.ndarray | torch.Tensor]]):
        super().__init__()
        self.modes = dict(modes)
        for key, mode in self.modes.items():
            if mode not in MODES:
                raise ValueError(f'normalization mode {mode!r} for {key!r} is not one of {MODES}')
            if mode == 'identity':
                continue
            needed = ('mean', 'std') if mode == 'mean_std' else ('min', 'max')
            feature_stats = stats.get(key)
            if feature_stats is None:
                raise ValueError(f'dataset stats lack feature {key!r} (needed for {mode} normalization); '
                                 f'recompute meta/stats.json for the dataset')
            for stat in needed:
                if stat not in feature_stats:
                    raise ValueError(f'dataset stats for {key!r} lack {stat!r} (needed for {mode} '
                                     f'normalization); recompute meta/stats.json for the dataset')
                value = torch.as_tensor(np.asarray(feature_stats[stat], dtype=np.float32))
                self.register_buffer(_buffer_name(key, stat), value, persistent=False)

    def stat(self, key: str, stat: str) -> torch.Tensor:
        return getattr(self, _buffer_name(key, stat))

    def stats_dict(self) -> dict[str, torch.Tensor]:
        """The stats as ``{"<key>/<stat>": tensor}`` (what the checkpoint stores)."""
        out = {}
        for key, mode in self.modes.items():
            if mode == 'mean_std':
                names = ('mean', 'std')
            elif mode == 'min_max':
                names = ('min', 'max')
            else:
                names = ()
            for stat in names:
                out[f'{key}/{stat}'] = self.stat(key, stat).detach().cpu().contiguous()
        return out

    @staticmethod
    def stats_from_dict(flat: Mapping[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
        nested: dict[str, dict[str, torch.Tensor]] = {}
        for name, value in flat.items():
            key, _, stat = name.rpartition('/')
            nested.setdefault(key, {})[stat] = value
        return nested

    def normalize(self, key: str, x: torch.Tensor) -> torch.Tensor:
        mode = self.modes[key]
        if mode == 'mean_std':
            return (x - self.stat(key, 'mean')) / (self.stat(key, 'std') + _EPS)
        if mode == 'min_max':
            lo, hi = self.stat(key, 'min'), self.stat(key, 'max')
            return (x - lo) / (hi - lo + _EPS) * 2.0 - 1.0
        return x

    def unnormalize(self, key: str, x: torch.Tensor) -> torch.Tensor:
        mode = self.modes[key]
        if mode == 'mean_std':
            return x * (self.stat(key, 'std') + _EPS) + self.stat(key, 'mean')
        if mode == 'min_max':
            lo, hi = self.stat(key, 'min'), self.stat(key, 'max')
            return (x + 1.0) / 2.0 * (hi - lo + _EPS) + lo
        return x
