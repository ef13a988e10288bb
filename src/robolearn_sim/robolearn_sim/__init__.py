"""The simulated world (MuJoCo). Rendering is headless: MUJOCO_GL defaults to egl (Mesa on CPU) here."""

import os

os.environ.setdefault('MUJOCO_GL', 'egl')
