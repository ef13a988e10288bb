"""Several trained checkpoints of one regression policy deployed as one: their chunks averaged point by point.

Why: ACT trained with one recipe on one dataset lands anywhere between 52% and 84% closed-loop success
depending on the training seed (docs/closed-loop.md); the seeds' chunks disagree where one model is
unsure, and their mean is what the executor's temporal ensemble already exploits across time. Averaging
across models is the same idea across seeds. Only for chunks that are a fixed function of the observation:
ACT and mlp regress one, and flow or diffusion started from the noise's mean (``inference_noise`` 'zero') give
one too. The mean of two samples from fresh noise can lie between two grasps, so those are refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from robolearn_core.calibration import ArmCalibration
from robolearn_core.control.chunk import Chunk
from robolearn_core.control.observation_history import ObservationHistory
from robolearn_core.policies.common.config import PolicyConfig
from robolearn_core.policies.deployed_policy import DeployedPolicy

#: policies whose output is one regressed chunk per observation: a mean of several is a chunk of the same kind
REGRESSORS = ('act', 'mlp')


def averageable(config: PolicyConfig) -> bool:
    """A regressor, or a sampler that starts from the noise's mean: its chunk is a function of the observation."""
    return config.name in REGRESSORS or getattr(config, 'inference_noise', None) == 'zero'


class PolicyEnsemble:
    """Members observe the same observations; ``infer`` is the mean of their chunks. Same interface as
    ``DeployedPolicy`` where the policy node and the evaluation use it."""

    def __init__(self, members: Sequence[DeployedPolicy]) -> None:
        if len(members) < 2:
            raise ValueError('an ensemble needs at least two checkpoints')
        first = members[0]
        for i, m in enumerate(members):
            if not averageable(m.config):
                raise ValueError(f'checkpoint {i + 1} holds a {m.config.name} policy sampling from '
                                 f'{m.config.inference_noise} noise: the mean of two sampled grasps is neither. Ensemble '
                                 f'{", ".join(REGRESSORS)} checkpoints, or flow/diffusion ones with inference_noise zero '
                                 '(one chunk per observation), or deploy it alone')
            same = (m.config.name, m.config.horizon, m.fps, m.deployment.units)
            if same != (first.config.name, first.config.horizon, first.fps, first.deployment.units):
                raise ValueError(f'checkpoint {i + 1} is a {same[0]} with horizon {same[1]} at {same[2]:g} fps in '
                                 f'{same[3]} units; checkpoint 1 is {first.config.name}, horizon {first.config.horizon}, '
                                 f'{first.fps:g} fps, {first.deployment.units}: ensemble checkpoints of one recipe')
        self.members = list(members)
        self.config = first.config
        self.deployment = first.deployment
        self.supports_prefix = False
        self.cameras = list(dict.fromkeys(c for m in members for c in m.cameras))

    @property
    def fps(self) -> float:
        return self.members[0].fps

    @property
    def history(self) -> ObservationHistory:
        """Every member's history holds the same observation times: the first one answers for all."""
        return self.members[0].history

    @property
    def resized(self) -> dict[str, tuple[int, int]]:
        return {c: hw for m in self.members for c, hw in m.resized.items()}

    @property
    def horizon_s(self) -> float:
        return self.members[0].horizon_s

    def reset(self) -> None:
        for m in self.members:
            m.reset()

    def observe(self, t: float, state_rad: np.ndarray | None, images: Mapping[str, np.ndarray]) -> list[str]:
        notes: list[str] = []
        for m in self.members:
            notes += [n for n in m.observe(t, state_rad, images) if n not in notes]
        return notes

    def infer(self, t: float, pending: Chunk | None = None, delay: float = 0.0) -> Chunk | None:
        chunks = [m.infer(t, pending, delay) for m in self.members]
        if any(c is None for c in chunks):
            return None
        return Chunk.from_fps(t, np.mean([c.positions for c in chunks], axis=0), self.fps)

    def warm_up(self, calls: int) -> float:
        """The members' warm-ups; the sum of their last calls' seconds (what one ensemble inference costs)."""
        return sum(m.warm_up(calls) for m in self.members)


def deploy_checkpoints(spec: str, device: str = 'cpu', calibration: ArmCalibration | None = None,
                       **options) -> DeployedPolicy | PolicyEnsemble:
    """``spec``: one checkpoint directory, or several separated by commas (an ensemble of them)."""
    paths = [p.strip() for p in spec.split(',') if p.strip()]
    if not paths:
        raise ValueError('no checkpoint given: a checkpoint directory, or several separated by commas')
    members = [DeployedPolicy(p, device, calibration, **options) for p in paths]
    return members[0] if len(members) == 1 else PolicyEnsemble(members)
