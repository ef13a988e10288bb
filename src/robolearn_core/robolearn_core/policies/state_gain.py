"""How far a policy's chunk follows its own state input: the closed-loop stability check offline data cannot give.

A policy trained on demonstrations can learn to copy the arm's state into its actions (each action close to
the current position plus a step). Offline that is a low error; in closed loop the policy's own deviation
comes back as its next input, and a gain near or above 1 on a joint feeds it back on itself: the arm drifts
past anything demonstrated (robolearn's flows turned the wrist 40 degrees past the demonstrated range this
way, docs/closed-loop.md). The gain is measured by finite differences: shift one joint of the state by
``delta`` and see how much each row of the chunk moves on that joint. ``history`` shifts every observation
frame (a position offset); ``latest`` only the newest one (what a velocity read from the history adds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .common.base import Policy


def state_gain(policy: Policy, observation_frames: Sequence[Mapping[str, Any]], joint: int,
               delta: float = 5.0) -> dict[str, np.ndarray]:
    """{'history': (horizon,), 'latest': (horizon,)}: d(chunk[:, joint]) / d(state[joint]) for one observation,
    ``delta`` in dataset units (degrees on SO arms). Use a deterministic sampler (inference_noise zero)."""
    key = policy.config.state_key
    if not policy.config.uses_state:
        raise ValueError(f'the {policy.config.name} policy reads no state ({key!r}): it has no state gain')
    if delta == 0:
        raise ValueError('delta must be non-zero')
    base = policy.predict_chunk(observation_frames=observation_frames)[:, joint]

    def shifted(frames: Sequence[int]) -> np.ndarray:
        moved = [dict(f) for f in observation_frames]
        for i in frames:
            state = np.array(moved[i][key], dtype=np.float32, copy=True)
            state[joint] += delta
            moved[i][key] = state
        return (policy.predict_chunk(observation_frames=moved)[:, joint] - base) / delta

    n = len(observation_frames)
    return {'history': shifted(range(n)), 'latest': shifted([n - 1])}
