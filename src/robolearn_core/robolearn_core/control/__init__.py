"""Control math for the arm, plain Python: what the executor, teleop and the driver compute each tick.

- ``fixed_rate``: a loop on an absolute schedule (the recorder, the driver, the camera, the executor);
- ``safety``: the per-tick step limit and joint limits every command passes, and the executor's filter
  (NaN rejection, a bounded-speed ramp at start and after a hold);
- ``chunk``: an action chunk in time, sampled by time (linear between setpoints, nothing past the end);
- ``chunk_validation``: why the executor refuses a chunk message (names, NaN, times, stamp age, limits);
- ``action_queue``: the executor's queue of future setpoints and its merge modes (replace, temporal
  ensemble, blend, rtc), the request threshold g;
- ``delay``: the inference delay from what was measured, robust to one slow call;
- ``rtc``: the real-time-chunking prefix (pending setpoints on the new chunk's grid, with weights);
- ``observation_history``: the policy's history frames 1/fps apart, whatever the inference rate.
"""
