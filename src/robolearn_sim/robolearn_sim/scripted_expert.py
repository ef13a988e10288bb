"""The scripted expert: picks the cube up and carries it around the pillar to the target, by hand.

It moves the invisible leader arm, like a person moving a real leader arm, and watches the follower,
like a person watching the real arm: a slow integral correction takes out the follower's sag under
gravity, so it reaches where it aims. The demonstrations are multimodal on purpose: each episode picks
one of two strategies at random, carrying the cube on an arc ``inside`` (between the pillar and the arm's
base) or ``outside`` (beyond the pillar). Speed, pauses, arc radius and the aim vary a little per
episode, as they would with a person.

The plan is in polar coordinates about the arm's base (radius, azimuth, height of the point between the
jaws, jaw yaw, gripper angle), so that radial moves are straight and the detour is an arc.

It recovers, as a person would: when the lift ends, and while carrying, it checks that the cube is in the
hand; when it is not (the grasp missed, or the cube slipped out), it opens, rises clear of the pillar, goes
back over the cube where it now lies, grasps it again and carries on (at most ``MAX_RETRIES`` times). Why:
a policy trained only on clean grasps has never seen a missed one, and after its own miss (a grasp a
centimetre off, the cube held by an edge and dropped) it does not know what to do. So that the
demonstrations can show such recoveries, a share of episodes (``fumble_probability``, drawn from the seed's
own stream; 0 by default) fumbles the first grasp the way a hurried operator does: closing too high, or a
jaw's width off to the side. Measured (docs/closed-loop.md): with 0.3, Diffusion Policy and flow matching
did better and ACT much worse, so the default demonstrations have none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robolearn_sim.episode_layout import EpisodeLayout
from robolearn_sim.inverse_kinematics import TopDownIK
from robolearn_sim.scene import CUBE_HALF

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
RETRY_Z = 0.10  # m, grasp point while going back over the cube: the jaw tips clear the pillar's top
MAX_RETRIES = 2
ALIGN_S = 0.7  # s (at speed 1): over the cube, centring the hand and turning the jaws to the cube's faces
#: How far (m) the hand first arrives from over the cube before it centres itself (uniform, random direction).
REACH_ERROR = (0.006, 0.015)
#: How a first grasp is fumbled on purpose: closing 30 mm too high, or 14-18 mm off to the side (equally likely).
FUMBLES = ('high', 'aside')
#: The cube counts as held when its centre is this far above its resting height and this close to the hand.
HELD_LIFT, HELD_DISTANCE = 0.012, 0.035


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


def _yaw_of(quat_wxyz: np.ndarray) -> float:
    """The cube's yaw about z from its orientation (w, x, y, z)."""
    w, x, y, z = (float(v) for v in quat_wxyz)
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


def _natural_yaw(theta: float) -> float:
    """The jaw yaw with the wrist unrolled: jaws across the reach direction at azimuth ``theta``."""
    return theta + np.pi / 2


def _grasp_yaw(theta: float, cube_yaw: float) -> float:
    """The jaw yaw that closes on two opposite faces of the cube, nearest to the arm's natural one."""
    natural = _natural_yaw(theta)
    candidates = cube_yaw + np.arange(-4, 5) * (np.pi / 2)
    return float(candidates[np.argmin(np.abs(candidates - natural))])


class ScriptedExpert:
    """Plans an episode from its layout and turns time + the follower's joints into leader joint goals."""

    def __init__(self, ik: TopDownIK, layout: EpisodeLayout, strategy: str | None = None,
                 fumble_probability: float = 0.0) -> None:
        rng = np.random.default_rng([layout.seed, 1])  # its own stream: the layout's draws stay put
        self.strategy = strategy if strategy is not None else STRATEGIES[int(rng.integers(2))]
        if self.strategy not in STRATEGIES:
            raise ValueError(f'strategy {self.strategy!r} is not one of {", ".join(STRATEGIES)}')
        self.ik = ik
        self.layout = layout
        self.speed = float(rng.uniform(0.85, 1.2))
        fumbles = np.random.default_rng([layout.seed, 2])  # a stream of its own: the plan's draws stay put
        if not 0.0 <= fumble_probability <= 1.0:
            raise ValueError(f'fumble_probability {fumble_probability} is outside 0..1')
        self.fumble = FUMBLES[int(fumbles.integers(2))] if fumbles.random() < fumble_probability else None
        self._fumble_aside = float(fumbles.choice([-1.0, 1.0]) * fumbles.uniform(0.014, 0.018))
        self._rng = rng
        self._reach = np.random.default_rng([layout.seed, 3])  # reach errors: a stream of their own
        self.retries = 0
        self._plan(rng)
        self._q = None
        self._correction = np.zeros(5)
        self._cube_offset: np.ndarray | None = None  # cube centre minus the hand's point, seen when lifting

    def _set_plan(self, segments: list[tuple[Waypoint, float]], lift_segment: int) -> None:
        self.segments = segments
        self.times = np.concatenate([[0.0], np.cumsum([d for _, d in segments])])
        self.duration = float(self.times[-1])
        self.lift_segment = lift_segment  # the segment that lifts the cube; the next two carry it to the target

    def _plan(self, rng: np.random.Generator) -> None:
        """The whole episode's (waypoint to reach, seconds to get there) in order; the first starts from home."""
        cx, cy = self.layout.cube_xy
        tx, ty = self.layout.target_xy
        jitter = lambda scale: float(rng.normal(0.0, scale))  # noqa: E731
        cr, ct = float(np.hypot(cx, cy)) + jitter(0.002), float(np.arctan2(cy, cx)) + jitter(0.006)
        self._target = float(np.hypot(tx, ty)) + jitter(0.003), float(np.arctan2(ty, tx)) + jitter(0.01)
        self._arc_r = float(rng.uniform(*ARC_RADIUS[self.strategy]))
        grasp_yaw = _grasp_yaw(ct, self.layout.cube_yaw)
        self._carry_z = CARRY_Z + jitter(0.003)
        slow = 1.0 / self.speed
        hover = HOVER_Z + jitter(0.004)
        # Turn towards the cube first, close to the base, then reach out: never sweep past the pillar. The
        # jaws stay at their natural yaw until the hand is over the cube (see _grasp_segments).
        first = [(Waypoint(HOME_RADIUS, ct, HOVER_Z, _natural_yaw(ct), GRIPPER_OPEN), 1.0 * slow)]
        ar, at, az = cr, ct, GRASP_Z
        if self.fumble == 'high':
            az = GRASP_Z + 0.03  # the jaws close above the cube
        elif self.fumble == 'aside':  # off along the jaws' width: at best an edge is caught
            side = grasp_yaw + np.pi / 2
            x, y = cr * np.cos(ct) + self._fumble_aside * np.cos(side), cr * np.sin(ct) + self._fumble_aside * np.sin(side)
            ar, at = float(np.hypot(x, y)), float(np.arctan2(y, x))
        grasp = self._grasp_segments(ar, at, grasp_yaw, hover, grasp_z=az)
        self._set_plan(first + grasp + self._carry_segments(cr, ct, grasp_yaw), lift_segment=len(first) + len(grasp))

    def _grasp_segments(self, r: float, theta: float, yaw: float, hover: float,
                        grasp_z: float = GRASP_Z) -> list[tuple[Waypoint, float]]:
        """Over the cube, turn the jaws to its faces, down, close, squeeze: from anywhere above it, jaws open.

        Over the cube the jaws first come to their natural yaw and only then turn to the cube's faces, as a
        person looks before aligning: the wrist camera then shows the cube at its own yaw relative to the jaws
        and the turn that follows, so a policy can learn the turn from what it sees. Turned on the way
        instead, every approach in the demonstrations looks already aligned, and a policy never learns the
        cube's yaw (measured: ACT closed at nearly the same wrist roll whatever the yaw, docs/closed-loop.md).
        For the same reason the hand first arrives a little off the cube, as a person's quick reach does, and
        centres itself while turning: the demonstrations then show what an off-centre cube looks like from
        the wrist and the move that corrects it (noise injected into the demonstrator, as in DART), where a
        reach that is always exact shows a centred cube only and a policy that arrives 1 cm off never
        corrects (measured, docs/closed-loop.md).
        """
        slow, W = 1.0 / self.speed, Waypoint
        pause = lambda: float(self._rng.uniform(0.1, 0.4)) * slow  # noqa: E731
        off_r, off_theta = self._reach_error(r, theta)
        return [
            (W(r + off_r, theta + off_theta, hover, _natural_yaw(theta), GRIPPER_OPEN), 0.9 * slow),
            (W(r, theta, hover, yaw, GRIPPER_OPEN), ALIGN_S * slow),
            (W(r, theta, grasp_z, yaw, GRIPPER_OPEN), 1.0 * slow),
            (W(r, theta, grasp_z, yaw, GRIPPER_OPEN), pause()),
            (W(r, theta, grasp_z, yaw, GRIPPER_SQUEEZE), 0.6 * slow),
            (W(r, theta, grasp_z, yaw, GRIPPER_SQUEEZE), 0.3 + pause()),
        ]

    def _reach_error(self, r: float, theta: float) -> tuple[float, float]:
        """(radius, azimuth) offsets of the first arrival over the cube: REACH_ERROR m in a random direction."""
        distance, direction = self._reach.uniform(*REACH_ERROR), self._reach.uniform(-np.pi, np.pi)
        return float(distance * np.cos(direction)), float(distance * np.sin(direction) / r)

    def _carry_segments(self, r: float, theta: float, grasp_yaw: float) -> list[tuple[Waypoint, float]]:
        """Lift, carry on the strategy's arc, place, release, retreat."""
        slow, W = 1.0 / self.speed, Waypoint
        tr, tt = self._target
        arc_r, carry_z = self._arc_r, self._carry_z
        place_yaw = grasp_yaw + (tt - theta)  # keep the cube's yaw relative to the arm: the wrist barely rolls
        return [
            (W(r, theta, carry_z, grasp_yaw, GRIPPER_SQUEEZE), 0.9 * slow),
            (W(arc_r, theta, carry_z, grasp_yaw, GRIPPER_SQUEEZE), 1.0 * slow),
            (W(arc_r, tt, carry_z, place_yaw, GRIPPER_SQUEEZE), 2.0 * slow),
            (W(tr, tt, carry_z, place_yaw, GRIPPER_SQUEEZE), 1.0 * slow),
            (W(tr, tt, PLACE_Z, place_yaw, GRIPPER_SQUEEZE), 0.9 * slow),
            (W(tr, tt, PLACE_Z, place_yaw, GRIPPER_OPEN), 0.5 * slow),
            (W(tr, tt, PLACE_Z, place_yaw, GRIPPER_OPEN), float(self._rng.uniform(0.1, 0.4)) * slow),
            (W(tr, tt, HOVER_Z + 0.02, place_yaw, GRIPPER_OPEN), 0.8 * slow),
        ]

    def _retry(self, t: float, cube_position: np.ndarray, cube_quat: np.ndarray | None) -> None:
        """Replace the rest of the plan from ``t``: open and rise, back over the cube where it lies, grasp, carry."""
        now = Waypoint(*self.hand_pose(t, self._start))
        i = int(np.searchsorted(self.times, t, side='right')) - 1
        kept = self.segments[:i] + [(now, max(t - self.times[i], 1e-3))]
        cr, ct = float(np.hypot(*cube_position[:2])), float(np.arctan2(cube_position[1], cube_position[0]))
        cube_yaw = _yaw_of(cube_quat) if cube_quat is not None else self.layout.cube_yaw
        grasp_yaw = _grasp_yaw(ct, cube_yaw)
        slow = 1.0 / self.speed
        back = [(Waypoint(now.r, now.theta, RETRY_Z, now.yaw, GRIPPER_OPEN), 0.7 * slow),
                (Waypoint(cr, ct, RETRY_Z, _natural_yaw(ct), GRIPPER_OPEN), 1.0 * slow)]
        grasp = self._grasp_segments(cr, ct, grasp_yaw, HOVER_Z)
        self._set_plan(kept + back + grasp + self._carry_segments(cr, ct, grasp_yaw),
                       lift_segment=len(kept) + len(back) + len(grasp))
        self.retries += 1

    def _cube_held(self, follower_positions: np.ndarray, cube_position: np.ndarray) -> bool:
        hand, _ = self.ik.grasp_point(np.asarray(follower_positions[:5], dtype=float))
        lifted = cube_position[2] > CUBE_HALF + HELD_LIFT
        return bool(lifted and np.linalg.norm(cube_position - hand) < HELD_DISTANCE)

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
        start, end = self.times[self.lift_segment + 1], self.times[self.lift_segment + 3]
        weight = _min_jerk((t - start) / (end - start))
        turn = self.segments[-1][0].yaw - self.segments[self.lift_segment][0].yaw
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
        cube_quat: np.ndarray | None = None,
    ) -> np.ndarray:
        """Where to move the leader's six joints at ``t``, given the follower's joints (and the cube) now.

        With the cube's pose (what a person sees), it aims the cube rather than the hand at the target and
        grasps again when the cube is not in the hand during the lift's end and the carry."""
        if self._q is None:
            self._q = np.asarray(start_joints[:5], dtype=float).copy()
            pos, _ = self.ik.grasp_point(self._q)
            self._start = np.array([np.hypot(pos[0], pos[1]), np.arctan2(pos[1], pos[0]), pos[2],
                                    self.segments[0][0].yaw, start_joints[5]])
        if cube_position is not None:
            cube_position = np.asarray(cube_position, dtype=float)
            lift_end, carry_end = self.times[self.lift_segment + 1], self.times[self.lift_segment + 3]
            if (lift_end <= t < carry_end and self.retries < MAX_RETRIES
                    and not self._cube_held(follower_positions, cube_position)):
                self._retry(t, cube_position, cube_quat)
                self._cube_offset = None
            elif self._cube_offset is None and t >= lift_end:
                hand, _ = self.ik.grasp_point(np.asarray(follower_positions[:5], dtype=float))
                self._cube_offset = cube_position - hand
        r, theta, z, yaw, gripper = self.hand_pose(t, self._start)
        point = np.array([r * np.cos(theta), r * np.sin(theta), z]) - self._aim_shift(t)
        result = self.ik.solve(point, yaw, self._q)
        q_des = result.joints
        # Like a person watching the arm: slowly take out the follower's steady error (gravity sag).
        self._correction += 0.8 * dt * (q_des - np.asarray(follower_positions[:5]))
        self._correction = np.clip(self._correction, -0.12, 0.12)
        self._q = q_des
        return np.concatenate([q_des + self._correction, [gripper]])

