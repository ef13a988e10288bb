"""The simulated cameras render the scene's state headless (MUJOCO_GL=egl)."""

from __future__ import annotations

import numpy as np
import pytest

from robolearn_sim.scene import build_scene
from robolearn_sim.scene_renderer import SceneRenderer
from robolearn_sim.world import HOME_POSITIONS


@pytest.fixture(scope='module')
def renderer() -> SceneRenderer:
    r = SceneRenderer(96, 128, model=build_scene())
    yield r
    r.close()


def _red(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] > 150) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)


def test_front_camera_sees_the_cube_where_the_state_puts_it(renderer: SceneRenderer) -> None:
    renderer.set_state(HOME_POSITIONS, np.array([0.2, 0.12, 0.0125]), np.array([1.0, 0, 0, 0]), np.array([0.2, -0.12]))
    left = renderer.render('front')
    assert left.shape == (96, 128, 3) and left.dtype == np.uint8
    renderer.set_state(cube_position=np.array([0.2, -0.05, 0.0125]))
    right = renderer.render('front')
    # The front camera looks back at the arm: the arm's left (+y) is the image's right.
    assert _red(left).any() and _red(right).any()
    assert np.nonzero(_red(left))[1].mean() > np.nonzero(_red(right))[1].mean() + 10


def test_wrist_camera_moves_with_the_arm(renderer: SceneRenderer) -> None:
    renderer.set_state(HOME_POSITIONS)
    a = renderer.render('wrist').astype(int)
    turned = HOME_POSITIONS.copy()
    turned[0] += 0.5
    renderer.set_state(turned)
    b = renderer.render('wrist').astype(int)
    assert np.abs(a - b).mean() > 5


def test_bad_sizes_and_cameras_are_refused(renderer: SceneRenderer) -> None:
    with pytest.raises(ValueError, match='outside'):
        SceneRenderer(1080, 1920, model=renderer.model)
    with pytest.raises(ValueError, match='front, wrist'):
        renderer.render('ceiling')
