"""The scripted expert: picks the cube up and carries it around the pillar to the target, by hand.

It moves the invisible leader arm, like a person moving a real leader arm, and watches the follower,
like a person watching the real arm: a slow integral correction takes out the follower's sag under
gravity, so it reaches where it aims. The demonstrations are multimodal on purpose: each episode picks
one of two strategies at random, carrying the cube on an arc ``inside`` (between the pillar and the arm's
base) or ``outside`` (beyond the pillar). Speed, pauses, arc radius and the aim vary a little per
episode, as they would with a person.

The plan is in polar coordinates about the arm's base (radius, azimuth, height of the point between the
jaws, jaw yaw, gripper angle), so that radial moves are straight and the detour is an arc.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robolearn_sim.episode_layout import EpisodeLayout
from robolearn_sim.inverse_kinematics import TopDownIK

STRATEGIES = ('inside', 'outside')
#: Arc radius of each strategy (m); the pillar spans radius 0.182..0.218.
ARC_RADIUS = {'inside': (0.118, 0.132), 'outside': (0.268, 0.282)}
GRIPPER_OPEN = 0.9  # rad: ~60 mm between the pads
GRIPPER_SQUEEZE = -0.15  # rad: a goal past contact, so the servo squeezes the 25 mm cube
HOVER_Z = 0.07  # m, grasp point above the table before descending
CARRY_Z = 0.05  # m, grasp point while carrying: the cube 37 mm up, far below the pillar top (70 mm)
GRASP_Z = 0.017  # m: pads a little above the cube's centre, jaw tips clear of the table
PLACE_Z = 0.02
HOME_RADIUS = 0.13  # m, where the home pose holds the hand (robolearn_sim.world.HOME_POSITIONS)
#: Segments (indices into the plan) during which the expert shifts its aim by the cube's offset in the hand.
CARRY_SEGMENTS = (7, 8)
LIFT_SEGMENT = 6


@dataclass(frozen=True)
class Waypoint:
    """A pose of the hand: radius, azimuth (rad), height (m), jaw yaw (rad), gripper (rad)."""

    r: float
    theta: float
    z: float
    yaw: float
    gripper: float

    def as_array(self) -> np.ndarray:
        return np.array([self.r, self.theta, self.z, self.yaw, self.gripper])


def _min_jerk(s: float) -> float:
    s = min(max(s, 0.0), 1.0)
    return s**3 * (10 - 15 * s + 6 * s * s)


def _grasp_yaw(theta: float, cube_yaw: float) -> float:
    """The jaw yaw that closes on two opposite faces of the cube, nearest to the arm's natural one."""
    natural = theta + np.pi / 2
    candidates = cube_yaw + np.arange(-4, 5) * (np.pi / 2)
    return float(candidates[np.argmin(np.abs(candidates - natural))])


class ScriptedExpert:
    """Plans an episode from its layout and turns time + the follower's joints into leader joint goals."""

    def __init__(self, ik: TopDownIK, layout: EpisodeLayout, strategy: str | None = None) -> None:
        rng = np.random.default_rng([layout.seed, 1])  # its own stream: the layout's draws stay put
        self.strategy = strategy if strategy is not None else STRATEGIES[int(rng.integers(2))]
        if self.strategy not in STRATEGIES:
            raise ValueError(f'strategy {self.strategy!r} is not one of {", ".join(STRATEGIES)}')
        self.ik = ik
        self.layout = layout
        self.speed = float(rng.uniform(0.85, 1.2))
        self.segments = self._plan(rng)
        self.times = np.concatenate([[0.0], np.cumsum([d for _, d in self.segments])])
        self.duration = float(self.times[-1])
        self._q = None
        self._correction = np.zeros(5)
        self._cube_offset: np.ndarray | None = None  # cube centre minus the hand's point, seen when lifting

    def _plan(self, rng: np.random.Generator) -> list[tuple[Waypoint, float]]:
        """(waypoint to reach, seconds to get there) in order; the first starts from home."""
        cx, cy = self.layout.cube_xy
        tx, ty = self.layout.target_xy
        jitter = lambda scale: float(rng.normal(0.0, scale))  # noqa: E731
        cr, ct = float(np.hypot(cx, cy)) + jitter(0.002), float(np.arctan2(cy, cx)) + jitter(0.006)
        tr, tt = float(np.hypot(tx, ty)) + jitter(0.003), float(np.arctan2(ty, tx)) + jitter(0.01)
        arc_r = float(rng.uniform(*ARC_RADIUS[self.strategy]))
        grasp_yaw = _grasp_yaw(ct, self.layout.cube_yaw)
        place_yaw = grasp_yaw + (tt - ct)  # keep the cube's yaw relative to the arm: the wrist barely rolls
        carry_z = CARRY_Z + jitter(0.003)
        slow = 1.0 / self.speed
        pause = lambda: float(rng.uniform(0.1, 0.4)) * slow  # noqa: E731
        W = Waypoint
        return [
            # Turn towards the cube first, close to the base, then reach out: never sweep past the pillar.
            (W(HOME_RADIUS, ct, HOVER_Z, grasp_yaw, GRIPPER_OPEN), 1.0 * slow),
            (W(cr, ct, HOVER_Z + jitter(0.004), grasp_yaw, GRIPPER_OPEN), 0.9 * slow),
            (W(cr, ct, GRASP_Z, grasp_yaw, GRIPPER_OPEN), 1.0 * slow),
            (W(cr, ct, GRASP_Z, grasp_yaw, GRIPPER_OPEN), pause()),
            (W(cr, ct, GRASP_Z, grasp_yaw, GRIPPER_SQUEEZE), 0.6 * slow),
            (W(cr, ct, GRASP_Z, grasp_yaw, GRIPPER_SQUEEZE), 0.3 + pause()),
            (W(cr, ct, carry_z, grasp_yaw, GRIPPER_SQUEEZE), 0.9 * slow),
            (W(arc_r, ct, carry_z, grasp_yaw, GRIPPER_SQUEEZE), 1.0 * slow),
            (W(arc_r, tt, carry_z, place_yaw, GRIPPER_SQUEEZE), 2.0 * slow),
            (W(tr, tt, carry_z, place_yaw, GRIPPER_SQUEEZE), 1.0 * slow),
            (W(tr, tt, PLACE_Z, place_yaw, GRIPPER_SQUEEZE), 0.9 * slow),
            (W(tr, tt, PLACE_Z, place_yaw, GRIPPER_OPEN), 0.5 * slow),
            (W(tr, tt, PLACE_Z, place_yaw, GRIPPER_OPEN), pause()),
            (W(tr, tt, HOVER_Z + 0.02, place_yaw, GRIPPER_OPEN), 0.8 * slow),
        ]

    def hand_pose(self, t: float, start: np.ndarray) -> np.ndarray:
        """The planned hand pose [r, theta, z, yaw, gripper] at ``t`` s into the episode."""
        i = int(np.searchsorted(self.times, t, side='right')) - 1
        if i >= len(self.segments):
            return self.segments[-1][0].as_array()
        a = start if i == 0 else self.segments[i - 1][0].as_array()
        b = self.segments[i][0].as_array()
        s = _min_jerk((t - self.times[i]) / self.segments[i][1])
        return a + s * (b - a)

    def done(self, t: float) -> bool:
        return t >= self.duration

    def _aim_shift(self, t: float) -> np.ndarray:
        """How far to move the aim so that the cube, not the hand, lands on the target (m, world).

        The moving jaw pushes the cube against the fixed one, so it sits off the middle of the hand; a
        person sees that and aims the cube rather than the hand. Phased in during the carry.
        """
        if self._cube_offset is None:
            return np.zeros(3)
        start, end = self.times[CARRY_SEGMENTS[0]], self.times[CARRY_SEGMENTS[-1] + 1]
        weight = _min_jerk((t - start) / (end - start))
        turn = self.segments[-1][0].yaw - self.segments[LIFT_SEGMENT][0].yaw
        c, s = np.cos(turn), np.sin(turn)
        offset = self._cube_offset
        return weight * np.array([c * offset[0] - s * offset[1], s * offset[0] + c * offset[1], 0.0])

    def leader_goal(
        self,
        t: float,
        follower_positions: np.ndarray,
        dt: float,
        start_joints: np.ndarray,
        cube_position: np.ndarray | None = None,
    ) -> np.ndarray:
        """Where to move the leader's six joints at ``t``, given the follower's joints (and the cube) now."""
        if self._q is None:
            self._q = np.asarray(start_joints[:5], dtype=float).copy()
            pos, _ = self.ik.grasp_point(self._q)
            self._start = np.array([np.hypot(pos[0], pos[1]), np.arctan2(pos[1], pos[0]), pos[2],
                                    self.segments[0][0].yaw, start_joints[5]])
        r, theta, z, yaw, gripper = self.hand_pose(t, self._start)
        if cube_position is not None and self._cube_offset is None and t >= self.times[LIFT_SEGMENT + 1]:
            hand, _ = self.ik.grasp_point(np.asarray(follower_positions[:5], dtype=float))
            self._cube_offset = np.asarray(cube_position, dtype=float) - hand
        point = np.array([r * np.cos(theta), r * np.sin(theta), z]) - self._aim_shift(t)
        result = self.ik.solve(point, yaw, self._q)
        q_des = result.joints
        # Like a person watching the arm: slowly take out the follower's steady error (gravity sag).
        self._correction += 0.8 * dt * (q_des - np.asarray(follower_positions[:5]))
        self._correction = np.clip(self._correction, -0.12, 0.12)
        self._q = q_des
        return np.concatenate([q_des + self._correction, [gripper]])

