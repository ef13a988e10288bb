"""The launch-time event "the simulated world's buses are ready", for the launch files that run the world.

Why one place: the drivers (sim.launch.py) and the recorder (teleop_record.launch.py) must start only
once the world has made its pseudo-terminals and written the calibration files, which it announces with
one log line. Imported by launch files only: it needs the ``launch`` package, which make test lacks.
"""

from __future__ import annotations

from collections.abc import Sequence

from launch.actions import RegisterEventHandler
from launch.event_handlers import OnProcessIO

from robolearn_sim.graph_paths import BUSES_READY


def start_when_buses_ready(actions: Sequence, target_action=None, condition=None) -> RegisterEventHandler:
    """Run ``actions`` once, on the first output line of ``target_action`` (any process if None) announcing it."""
    started = []

    def on_output(event):
        if BUSES_READY.encode() in event.text and not started:
            started.append(True)
            return list(actions)
        return None

    return RegisterEventHandler(OnProcessIO(target_action=target_action, on_stdout=on_output, on_stderr=on_output),
                                condition=condition)
