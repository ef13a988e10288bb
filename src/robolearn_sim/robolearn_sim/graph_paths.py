"""Where the simulated graph's parts find each other, and the line that says they can: no rclpy, no MuJoCo.

Why one module: the world node makes the simulated buses (pseudo-terminals behind symlinks) and writes
the arms' calibrations; the drivers, the recorder, the launch files, ``evaluate`` and the tests must open
exactly those paths, and only after the world logs ``BUSES_READY``. Importing this costs nothing, so a
launch file or a command-line tool can use it without loading the simulator.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

#: Printed once both buses serve: the launch files and the evaluator start the drivers on this line.
BUSES_READY = 'simulated buses ready'
#: The folder of the simulated buses and calibrations that config/sim.yaml names (one launched world per machine).
DEFAULT_DIR = Path('/tmp/robolearn_sim')
ROLES = ('follower', 'leader')


def bus_port(role: str, folder: Path = DEFAULT_DIR) -> str:
    """The symlink to the simulated bus (a pty) of the ``role`` arm."""
    return str(folder / role)


def calibration_file(role: str, folder: Path = DEFAULT_DIR) -> str:
    """The calibration JSON the world writes for the ``role`` arm and its driver (and the recorder) read."""
    return str(folder / f'{role}.json')


def domain_folder(domain_id: str) -> Path:
    """A folder per ROS domain, so that worlds in different domains on one machine never share a bus."""
    return Path(tempfile.gettempdir()) / 'robolearn_sim' / domain_id


def graph_parameters(folder: Path) -> dict[str, dict[str, str]]:
    """Parameter overrides, keyed by node name, that put both arms' ports and calibrations in ``folder``."""
    world, nodes = {}, {}
    for role in ROLES:
        port, calibration = bus_port(role, folder), calibration_file(role, folder)
        world |= {f'{role}_port': port, f'{role}_calibration': calibration}
        nodes[f'so100_{role}'] = {'port': port, 'calibration_file': calibration}
    return {'world_node': world, **nodes}
