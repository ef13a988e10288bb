"""The real-time-chunking prefix: the setpoints still to execute, on the new chunk's grid, with guidance weights.

Real-time chunking (Black, Galliker, Levine 2025, "Real-Time Execution of Action Chunking Flow
Policies") generates the next chunk while the current one executes, guided toward the part of the
current one that will still run. The policy's new chunk has its points at ``stamp + i / fps`` (the
observation's stamp); the pending setpoints are on the executor queue's own times. So they are
resampled (linearly, as the queue samples) onto that grid, for the first ``k`` grid points that the
pending part still covers, and weighted by the paper's soft mask:

- 1 for the points that execute before the new chunk can arrive (the estimated delay ``d``): the
  queue keeps the old setpoints there, so the new chunk must equal them. Because the executor samples
  in time, the switch falls between two grid points; both must match, so the frozen points are those up
  to and including the first one at or after the delay (``ceil(delay * fps) + 1`` of them);
- ``c (e^c - 1) / (e - 1)`` with ``c = (k - i) / (k - d + 1)`` for the rest of the overlap: decaying from
  near 1 to near 0, so the new chunk leaves the old plan gradually instead of at the overlap's end;
- 0 beyond the pending part (not returned: the prefix has ``k`` rows).
"""

from __future__ import annotations

import math

import numpy as np

from robolearn_core.control.chunk import TIME_EPS


def frozen_steps(grid_times: np.ndarray, delay: float) -> int:
    """How many grid points must equal the old plan when the chunk takes over ``delay`` s after the first one.

    Those before the take-over, and the first one at or after it (the executor interpolates across it).
    """
    return int(np.count_nonzero(grid_times < grid_times[0] + delay - TIME_EPS)) + 1


def soft_mask_weights(k: int, frozen: int) -> np.ndarray:
    """(k,) guidance weights: 1 for the first ``frozen`` points, then the paper's exponential decay."""
    i = np.arange(k, dtype=np.float64)
    frozen = min(max(frozen, 0), k)
    c = (k - i) / (k - frozen + 1)
    weights = c * np.expm1(c) / (math.e - 1)
    weights[:frozen] = 1.0
    return weights


def rtc_prefix(pending_times: np.ndarray, pending_positions: np.ndarray, grid_times: np.ndarray,
               delay: float) -> tuple[np.ndarray, np.ndarray]:
    """(prefix (k, J), weights (k,)): the pending setpoints at the grid times they cover, and how strongly to keep each.

    ``pending_times`` (M,) and ``grid_times`` (H,) are absolute seconds on one clock; ``grid_times`` are the
    new chunk's points (its observation stamp + i / fps) and ``delay`` is the estimated seconds from the first
    of them (the stamp) to the chunk's arrival. Grid points before the first pending setpoint take it (they are in the past by the
    time the chunk arrives); the prefix ends at the last grid point the pending part reaches. Positions stay in
    the units given (the caller converts radians to dataset units, e.g. FrameSchema.radians_to_actions).
    """
    pending_times = np.asarray(pending_times, dtype=np.float64).reshape(-1)
    pending_positions = np.asarray(pending_positions, dtype=np.float64)
    grid_times = np.asarray(grid_times, dtype=np.float64).reshape(-1)
    joints = pending_positions.shape[-1] if pending_positions.ndim == 2 else 0
    if len(pending_times) == 0 or len(grid_times) == 0:
        return np.zeros((0, joints)), np.zeros(0)
    k = int(np.count_nonzero(grid_times <= pending_times[-1] + TIME_EPS))
    grid = grid_times[:k]
    prefix = np.stack([np.interp(grid, pending_times, pending_positions[:, j]) for j in range(joints)], axis=-1)
    return prefix.reshape(k, joints), soft_mask_weights(k, frozen_steps(grid_times, delay))
