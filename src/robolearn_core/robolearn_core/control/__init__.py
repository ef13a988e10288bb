"""Control math for the arm, plain Python: what the executor, teleop and the driver compute each tick.

- ``fixed_rate``: a loop on an absolute schedule (the recorder, the driver, the camera, the executor);
- ``safety``: the per-tick step limit and joint limits every command passes.
"""
