"""The SO dataset frame: features, frames in LeRobot units, and chunks back to radians."""

import numpy as np
import pytest

from robolearn_core.calibration import ArmCalibration, MotorCalibration
from robolearn_core.so_arm.frame_schema import ACTION_KEY, POSITION_NAMES, STATE_KEY, FrameSchema, image_key
from robolearn_core.so_arm.joints import JOINT_NAMES


def calibration() -> ArmCalibration:
    return ArmCalibration({n: MotorCalibration(i + 1, 0, 0, 1000, 3000) for i, n in enumerate(JOINT_NAMES)})


def test_features_name_the_so_joints_and_each_camera():
    schema = FrameSchema(('front', 'wrist'), calibration(), calibration())
    features = schema.features({'front': (96, 128), 'wrist': (48, 64)}, 30, 'av1')
    assert features[STATE_KEY]['names'] == features[ACTION_KEY]['names'] == list(POSITION_NAMES)
    assert features[image_key('wrist')]['shape'] == [48, 64, 3]
    assert schema.keys == [STATE_KEY, ACTION_KEY, 'observation.images.front', 'observation.images.wrist']
    with pytest.raises(ValueError, match="no image size for camera\\(s\\) \\['wrist'\\]"):
        schema.features({'front': (96, 128)}, 30, 'av1')


def test_frame_in_lerobot_units_and_chunk_back_to_radians():
    cal = calibration()
    schema = FrameSchema(('front',), cal, cal)
    state = np.array([0.1, -0.2, 0.3, 0.0, 0.5, 0.2])
    image = np.zeros((4, 6, 3), np.uint8)
    frame = schema.frame(state, state, {'front': image})
    assert frame[STATE_KEY].dtype == np.float32
    np.testing.assert_allclose(frame[STATE_KEY][:5], np.degrees(state[:5]), atol=1e-4)  # degrees, same scale
    assert 0.0 <= frame[STATE_KEY][5] <= 100.0                                          # gripper percent
    assert frame[image_key('front')] is image
    np.testing.assert_allclose(schema.actions_to_radians(frame[ACTION_KEY][None])[0], state, atol=1e-5)


def test_without_calibrations_values_stay_radians():
    schema = FrameSchema(())
    np.testing.assert_array_equal(schema.state_values(np.arange(6.0)), np.arange(6.0, dtype=np.float32))
    with pytest.raises(ValueError, match='both calibrations'):
        FrameSchema((), calibration(), None)
    with pytest.raises(ValueError, match='5 values per step; the SO arm has 6'):
        schema.actions_to_radians(np.zeros((3, 5)))


def test_radians_to_actions_inverts_actions_to_radians():
    cal = calibration()
    schema = FrameSchema((), cal, cal)
    radians = np.array([[0.1, -0.2, 0.3, 0.0, 0.5, 0.2], [0.0, 0.0, 0.0, 0.0, 0.0, 0.1]])
    actions = schema.radians_to_actions(radians)
    assert actions.dtype == np.float32 and actions.shape == (2, 6)
    np.testing.assert_allclose(actions[:, :5], np.degrees(radians[:, :5]), atol=1e-4)
    np.testing.assert_allclose(schema.actions_to_radians(actions), radians, atol=1e-5)
    np.testing.assert_array_equal(FrameSchema(()).radians_to_actions(radians), radians.astype(np.float32))
    with pytest.raises(ValueError, match='radians have 5 values per step'):
        schema.radians_to_actions(np.zeros(5))
