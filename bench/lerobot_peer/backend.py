"""LeRobotPeerPolicy: a LeRobot ACT checkpoint behind robolearn's DeployedPolicy interface (robolearn's side).

robolearn's policy_node builds ``DeployedPolicy(checkpoint, device, calibration, dtype=..., cuda_graph=...)``
and then only calls observe / infer / reset / warm_up and reads fps, cameras, horizon_s, supports_prefix,
resized, deployment, config.name/.horizon and history.newest_time(). This class is a DeployedPolicy in all of
that - units (FrameSchema and the arm's calibration), resizing, the observation history at the dataset's
frame spacing and the Chunk in time are DeployedPolicy's own code, inherited - except where the chunk comes
from: instead of robolearn's load_policy(checkpoint).predict_chunk, a LeRobot chunk server (server.py)
running in the LeRobot environment, which loads the checkpoint with LeRobot's own classes and processors.
LeRobot is never imported here: robolearn and LeRobot stay in separate environments (and Python versions:
lerobot 0.6 needs Python 3.12, the workspace runs 3.11), talking over a Unix socket (protocol.py).

How the server is found, in order:
  ROBOLEARN_LEROBOT_SOCKET   connect to a server already running (started by hand, server.py --socket PATH)
  ROBOLEARN_LEROBOT_PYTHON   else start server.py with this interpreter (default /work/lerobot-venv/bin/python),
                             on ``device``, with the node's torch thread count; it ends with this process.

``checkpoint`` is a LeRobot pretrained_model directory. What the policy node needs of the training data
(fps, joint names, cameras and sizes, units) comes from robolearn_deployment.json beside config.json
(bench/lerobot_act.py writes it); without it, from LeRobot's config (cameras, sizes) and ``overrides``.

Use in policy_node: the patch policy_node_backend.patch adds a parameter ``backend``
(``/path/to/bench/lerobot_peer/backend.py:LeRobotPeerPolicy``, or ``module:Class`` on PYTHONPATH).
Without the patch, bench/lerobot_peer/check_adapter.py drives it directly.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import protocol  # noqa: E402

from robolearn_core.calibration import ArmCalibration  # noqa: E402
from robolearn_core.control.chunk import Chunk  # noqa: E402
from robolearn_core.control.observation_history import ObservationHistory  # noqa: E402
from robolearn_core.policies.deployed_policy import DeployedPolicy  # noqa: E402
from robolearn_core.policies.deployment import UNITS, Deployment, DeploymentMetadataError  # noqa: E402
from robolearn_core.so_arm.frame_schema import STATE_KEY  # noqa: E402

SERVER = Path(__file__).resolve().parent / 'server.py'
DEFAULT_PYTHON = '/work/lerobot-venv/bin/python'
DEPLOYMENT_FILE = 'robolearn_deployment.json'
START_TIMEOUT_S = 180.0


@dataclasses.dataclass
class PeerConfig:
    """What the policy node and DeployedPolicy read of ``policy.config``."""
    name: str
    horizon: int
    n_obs_steps: int = 1
    uses_state: bool = True
    framework: str = 'lerobot'


class ChunkClient:
    """The LeRobot chunk server: started here or found at ROBOLEARN_LEROBOT_SOCKET; one request at a time."""

    def __init__(self, checkpoint: Path, device: str, threads: int) -> None:
        self.proc: subprocess.Popen | None = None
        self.closed = threading.Event()
        self._tmp: tempfile.TemporaryDirectory | None = None
        path = os.environ.get('ROBOLEARN_LEROBOT_SOCKET')
        if not path:
            python = os.environ.get('ROBOLEARN_LEROBOT_PYTHON', DEFAULT_PYTHON)
            if not Path(python).is_file():
                raise FileNotFoundError(f'no LeRobot interpreter at {python}: make the LeRobot venv '
                                        '(bench/lerobot_peer/README.md) or set ROBOLEARN_LEROBOT_PYTHON / _SOCKET')
            self._tmp = tempfile.TemporaryDirectory(prefix='lerobot-peer-')
            path = os.path.join(self._tmp.name, 'chunks.sock')
            env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME', 'LD_LIBRARY_PATH')}
            self.proc = subprocess.Popen([python, str(SERVER), '--checkpoint', str(checkpoint), '--socket', path,
                                          '--device', device, '--threads', str(threads)], env=env)
            atexit.register(self.close)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f'the LeRobot chunk server exited with {self.proc.returncode} before it was '
                                       f'ready (its messages are above)') from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f'no LeRobot chunk server on {path} after {START_TIMEOUT_S:.0f} s') from None
                time.sleep(0.1)

    def call(self, header: dict, payload: bytes = b'') -> tuple[dict, bytes]:
        try:
            protocol.send(self.sock, header, payload)
            reply, data = protocol.receive(self.sock)
        except OSError:
            if self.closed.is_set():  # shutting down: the node's daemon inference thread just ends with the process,
                threading.Event().wait()  # without a traceback for a call cut off by close()
            raise
        if not reply.get('ok'):
            raise RuntimeError(f'LeRobot chunk server: {reply.get("error")}')
        return reply, data

    def close(self) -> None:
        self.closed.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        except OSError:
            pass
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class RemoteChunkPolicy:
    """The part of robolearn's Policy that DeployedPolicy uses: predict_chunk(observation_frames=...) and reset()."""

    def __init__(self, client: ChunkClient, info: dict, config: PeerConfig) -> None:
        self.client, self.info, self.config = client, info, config
        self.image_keys = list(info['image_features'])
        self.last_infer_ms: float | None = None

    def predict_chunk(self, observation: Mapping | None = None, generator=None, *, observation_frames=None,
                      **options) -> np.ndarray:
        if options:
            raise ValueError(f'the LeRobot ACT peer takes no {sorted(options)} (no guided prefix)')
        obs = observation_frames[-1] if observation_frames else observation
        state = np.ascontiguousarray(np.asarray(obs[STATE_KEY], dtype=np.float32))
        parts, images = [state.tobytes()], []
        for key in self.image_keys:
            image = obs[key]
            image = image.numpy() if torch.is_tensor(image) else np.asarray(image)
            if image.dtype != np.uint8:  # float 0..1, as robolearn's predict_chunk also accepts
                image = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
            image = np.ascontiguousarray(image)
            images.append([key, list(image.shape)])
            parts.append(image.tobytes())
        reply, data = self.client.call({'op': 'predict', 'state': list(state.shape), 'images': images}, b''.join(parts))
        self.last_infer_ms = reply.get('infer_ms')
        return np.frombuffer(data, np.float32).reshape(reply['shape']).copy()

    def reset(self) -> None:
        self.client.call({'op': 'reset'})


class LeRobotPeerPolicy(DeployedPolicy):
    """DeployedPolicy's interface and behaviour, with chunks from a LeRobot ACT checkpoint (see the module doc)."""

    def __init__(self, checkpoint: str | Path, device: str = 'cpu', calibration: ArmCalibration | None = None,
                 overrides: Mapping | None = None, dtype: str = 'float32', cuda_graph: bool = False) -> None:
        checkpoint = Path(checkpoint)
        if not (checkpoint / 'config.json').is_file():
            raise FileNotFoundError(f'{checkpoint}: no config.json; give a LeRobot pretrained_model directory')
        self.notes = [] if dtype == 'float32' and not cuda_graph else [
            f'LeRobot peer: dtype {dtype} / cuda_graph {cuda_graph} ignored (LeRobot runs its policy in float32)']
        self.client = ChunkClient(checkpoint, device, torch.get_num_threads())
        info, _ = self.client.call({'op': 'info'})
        info = info['info']
        self._bind(checkpoint, self._deployment(checkpoint, info, overrides or {}), calibration)
        d = self.deployment
        self.config = PeerConfig(name=info['type'], horizon=int(info['chunk_size']), n_obs_steps=int(info['n_obs_steps']),
                                 uses_state=info['state_dim'] > 0)
        self.policy = RemoteChunkPolicy(self.client, info, self.config)
        self.history = ObservationHistory(self.config.n_obs_steps, d.fps)
        self.supports_prefix = False  # ACT: the executor's blend / temporal_ensemble continue chunks
        self.resized: dict[str, tuple[int, int]] = {}
        self.info = info
        self.limits = calibration.limits_radians() if calibration is not None else None

    def infer(self, t: float, pending=None, delay: float = 0.0):
        """DeployedPolicy's chunk clamped into the calibrated joint ranges, as a LeRobot arm's servo position-limit
        registers clamp any goal past the range. robolearn's executor clamps only within its limit_tolerance
        (0.1 rad) and refuses beyond; LeRobot's ACT here put wrist_flex 0.02 rad past its limit in most chunks."""
        chunk = super().infer(t, pending, delay)
        if chunk is None or self.limits is None:
            return chunk
        return Chunk(chunk.stamp, chunk.times, np.clip(chunk.positions, *self.limits))

    @staticmethod
    def _deployment(checkpoint: Path, info: dict, overrides: Mapping) -> Deployment:
        stored = info.get('deployment') or {}
        if not stored and (checkpoint / DEPLOYMENT_FILE).is_file():
            stored = json.loads((checkpoint / DEPLOYMENT_FILE).read_text())
        values = {**stored, **{k: v for k, v in overrides.items() if v is not None}}
        if not values.get('cameras'):
            values['cameras'] = {k: shape[1:] for k, shape in info['image_features'].items()}
        missing = [k for k in ('fps', 'action_names', 'units') if values.get(k) is None]
        if missing or values['units'] not in UNITS:
            raise DeploymentMetadataError(
                f'{checkpoint}: {DEPLOYMENT_FILE} lacks {missing or ["units"]} (bench/lerobot_act.py writes it when '
                f'training; or pass overrides, units one of {UNITS})')
        return Deployment(fps=float(values['fps']), action_names=list(values['action_names']), units=values['units'],
                          state_names=None if values.get('state_names') is None else list(values['state_names']),
                          cameras={k: (int(v[0]), int(v[1])) for k, v in values['cameras'].items()},
                          robot_type=values.get('robot_type'))

    def observe(self, t: float, state_rad: np.ndarray | None, images: Mapping[str, np.ndarray]) -> list[str]:
        notes, self.notes = self.notes, []
        return notes + super().observe(t, state_rad, images)

    def close(self) -> None:
        self.client.close()
