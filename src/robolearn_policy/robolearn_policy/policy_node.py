"""policy_node: observations in, action chunks out (trajectory_msgs/JointTrajectory on /policy/action_chunk).

Observations: ``/follower/joint_states`` (radians) and ``/cameras/<name>/image_raw`` (rgb8) for every
camera the checkpoint was trained on (``observation.images.<name>``; remap the topics for other names).
On its own clock at the dataset's fps the node takes the newest message of every stream, if none is
older than ``max_observation_age``, as the recorder sampled the training data; the policy's history is
picked from these, 1/fps apart, whatever the inference rate. Images of another size than the training
data's are resized (said once in the log).

Inference runs on a thread of its own, after a warm-up, ``on request`` (``/policy/request`` from the
executor, whose points are the setpoints still to execute: flow and diffusion continue them, real-time
chunking) or ``continuous``. Each chunk: header.stamp = the observation's time, point i at i / fps,
radians, the six SO joints. ``/diagnostics``: observation-to-chunk latency and inference time (p50/p99),
chunk rate, refused observations. ``~/reset`` (std_srvs/Trigger) starts a new episode (empty history).

Wiring only: the policy side is robolearn_core.policies.deployed_policy (units, resizing, history, rtc
prefix), the sampling rule robolearn_core.recording.stream_sampler, the clocks control.fixed_rate.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
import torch
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from robolearn_core.calibration import ArmCalibration, CalibrationError
from robolearn_core.control.chunk import Chunk
from robolearn_core.control.delay import DelayEstimator
from robolearn_core.control.fixed_rate import FixedRateSchedule
from robolearn_core.policies.common.chunk_generator import INFERENCE_NOISE
from robolearn_core.policies.deployed_policy import DeployedPolicy
from robolearn_core.policies.deployment import DeploymentMetadataError
from robolearn_core.policies.policy_ensemble import PolicyEnsemble, deploy_checkpoints
from robolearn_core.recording.stream_sampler import StreamSampler, describe_stale
from robolearn_core.so_arm.joints import JOINT_NAMES, JointMessageError, positions_by_name
from robolearn_ros.diagnostics import ERROR, OK, WARN, Status, publish_status_every
from robolearn_ros.image_conversion import ImageEncodingError, image_to_array
from robolearn_ros.node_main import run_node
from robolearn_ros.parameters import declare, refuse_invalid
from robolearn_ros.trajectories import chunk_to_msg, msg_fields

MODES = ('request', 'continuous')
STATE = 'state'


class PolicyNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('policy_node', **kwargs)
        p = lambda *a: declare(self, *a)  # noqa: E731
        self.checkpoint = p('checkpoint', '', 'policy checkpoint directory (fit: <output>/checkpoints/best); several '
                            'of one recipe, comma-separated: their chunks averaged (ACT, mlp; flow and diffusion '
                            'with inference_noise zero)')
        self.expected_policy = p('policy', '', "the kind of policy the checkpoint must hold (act, diffusion, flow, mlp); "
                                 "'' accepts any")
        self.device = p('device', 'auto', "torch device: auto (cuda if there is one), cpu, cuda, cuda:1")
        self.dtype = p('dtype', 'float32', 'inference weights: float32 or bfloat16 (GPU)')
        self.cuda_graph = p('cuda_graph', False, 'GPU: replay the whole sampler as one CUDA graph')
        self.threads = p('threads', 1, 'torch CPU threads (1 is faster on a loaded 2-core CPU)')
        self.mode = p('mode', 'request', 'request: infer when the executor asks; continuous: infer back to back')
        self.calibration_file = p('calibration_file', '', 'follower calibration JSON: radians <-> LeRobot SO units, '
                                  'for checkpoints trained on LeRobot SO datasets')
        self.max_observation_age = p('max_observation_age', 0.1, 'seconds a stream may be old at a sample; older: '
                                     'no observation (the policy does not act on stale data)')
        self.warmup_calls = p('warmup_calls', 3, 'inferences on a blank observation before reporting ready')
        self.extra_delay_s = p('extra_delay_s', 0.0, 'testing: seconds added to every inference (a slower policy)')
        self.seed = p('seed', 0, 'torch seed (diffusion/flow noise, ACT prior samples)')
        self.inference_noise = p('inference_noise', '', "flow, diffusion: where sampling starts: '' as the checkpoint "
                                 'says; fresh (new noise per chunk), episode (one draw per episode), zero')
        refuse_invalid(self, [
            f'mode {self.mode!r} is not one of {", ".join(MODES)}' if self.mode not in MODES else '',
            f'dtype {self.dtype!r} is not float32 or bfloat16' if self.dtype not in ('float32', 'bfloat16') else '',
            'threads must be >= 1 and warmup_calls >= 0' if self.threads < 1 or self.warmup_calls < 0 else '',
            f'inference_noise {self.inference_noise!r} is not one of {", ".join(INFERENCE_NOISE)} (or \'\')'
            if self.inference_noise not in ('', *INFERENCE_NOISE) else '',
            'max_observation_age must be > 0 and extra_delay_s >= 0'
            if not (self.max_observation_age > 0 and self.extra_delay_s >= 0) else ''])

        self.chunk_pub = self.create_publisher(JointTrajectory, '/policy/action_chunk', 10)
        self.create_subscription(JointTrajectory, '/policy/request', self._on_request, 10)
        self.create_service(Trigger, '~/reset', self._on_reset)
        self.deployed: DeployedPolicy | PolicyEnsemble | None = None
        self.sampler: StreamSampler | None = None
        self.state = 'loading'
        self.refused = 0
        self.last_refusal = ''
        self.latency_ms: deque[float] = deque(maxlen=200)
        self.inference_ms: deque[float] = deque(maxlen=200)
        self.chunks = 0
        self.delay = DelayEstimator(floor=0.02)  # observation -> chunk published, plus one executor tick of transport
        self._lock = threading.Lock()       # the deployed policy: history (sampling thread) vs inference
        self._wake = threading.Event()
        self._pending: Chunk | None = None
        self._last_inferred: float | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        publish_status_every(self, 1.0, 'policy', self._status)

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # --- start and stop -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Load the checkpoint (raises with what is missing), warm up, subscribe, start the threads."""
        if not self.checkpoint:
            raise ValueError(f'{self.get_name()}: parameter checkpoint (a policy checkpoint directory) is required')
        torch.set_num_threads(self.threads)
        torch.manual_seed(self.seed)
        device = ('cuda' if torch.cuda.is_available() else 'cpu') if self.device == 'auto' else self.device
        calibration = ArmCalibration.load(self.calibration_file) if self.calibration_file else None
        inference = {'inference_noise': self.inference_noise} if self.inference_noise else None
        self.deployed = deploy_checkpoints(self.checkpoint, device, calibration, dtype=self.dtype, cuda_graph=self.cuda_graph,
                                           inference=inference)
        d = self.deployed
        if self.expected_policy and d.config.name != self.expected_policy:
            raise ValueError(f'{self.get_name()}: checkpoint {self.checkpoint} holds a {d.config.name} policy, not '
                             f'{self.expected_policy} (parameter policy); pass its checkpoint, or policy:={d.config.name}')
        self.state = 'warming up'
        seconds = d.warm_up(self.warmup_calls)
        streams = [STATE] + [f'camera {c}' for c in d.cameras]
        self.sampler = StreamSampler(streams, self.max_observation_age)
        self.create_subscription(JointState, '/follower/joint_states', self._on_state, 10)
        for cam in d.cameras:
            self.create_subscription(Image, f'/cameras/{cam}/image_raw', lambda m, c=cam: self._on_image(c, m), 5)
        for target, name in ((self._sampling_loop, 'sampling'), (self._inference_loop, 'inference')):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.mode == 'continuous':
            self._wake.set()
        self.state = 'ready'
        ensemble = f' (ensemble of {len(d.members)}, chunks averaged)' if isinstance(d, PolicyEnsemble) else ''
        self.get_logger().info(
            f'policy ready: {d.config.name}{ensemble} from {self.checkpoint} on {device} ({self.dtype}), {d.fps:g} fps, '
            f'horizon {d.config.horizon}, cameras {d.cameras or "none"}, units {d.deployment.units}, mode {self.mode}; '
            f'warm-up {self.warmup_calls} calls, last {seconds * 1000:.0f} ms')

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:  # an inference in progress finishes on its own (daemon threads)
            thread.join(1.0)

    # --- observations ---------------------------------------------------------------------------------------
    def _on_state(self, msg: JointState) -> None:
        try:
            self.sampler.put(STATE, time.monotonic(), positions_by_name(msg.name, msg.position, allow_extra=True))
        except JointMessageError as e:
            self._refuse(f'joint state: {e}')

    def _on_image(self, cam: str, msg: Image) -> None:
        try:
            self.sampler.put(f'camera {cam}', time.monotonic(), image_to_array(msg, 'rgb8'))
        except ImageEncodingError as e:
            self._refuse(f'camera {cam}: {e}')

    def _refuse(self, why: str) -> None:
        self.refused += 1
        if why != self.last_refusal:
            self.get_logger().warning(f'no observation: {why}')
        self.last_refusal = why

    def _sampling_loop(self) -> None:
        """The dataset's clock: one observation every 1/fps, from the newest messages, if none is stale."""
        schedule = FixedRateSchedule(self.deployed.fps)
        while schedule.wait(self._stop) is not None:
            sample = self.sampler.sample(time.monotonic())
            if not sample.complete:
                self._refuse(describe_stale(sample.stale))
                continue
            images = {c: sample.values[f'camera {c}'] for c in self.deployed.cameras}
            with self._lock:
                notes = self.deployed.observe(self.now(), sample.values[STATE], images)
            for note in notes:
                self.get_logger().info(note)

    # --- inference ------------------------------------------------------------------------------------------
    def _on_request(self, msg: JointTrajectory) -> None:
        names, positions, times, stamp = msg_fields(msg)
        pending = None
        if positions:
            try:
                rows = np.stack([positions_by_name(names, p) for p in positions])
                pending = Chunk(stamp, times, rows)
            except (JointMessageError, ValueError) as e:
                self.get_logger().warning(f'request with unusable setpoints ({e}); answering without a prefix',
                                          throttle_duration_sec=5.0)
        self._pending = pending
        self._wake.set()

    def _on_reset(self, _req: Trigger.Request, resp: Trigger.Response) -> Trigger.Response:
        with self._lock:
            if self.deployed is not None:
                self.deployed.reset()
        resp.success, resp.message = True, 'new episode: observation history cleared'
        return resp

    def _inference_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                return
            if self.mode == 'request':
                self._wake.clear()
            pending, self._pending = self._pending, None
            start = time.perf_counter()
            with self._lock:
                t_obs = self.deployed.history.newest_time()
                if self.mode == 'continuous' and t_obs is not None and t_obs == self._last_inferred:
                    t_obs = None  # nothing new since the last chunk: wait for the next observation
                stale = t_obs is None or self.now() - t_obs > self.max_observation_age
                chunk = None if stale else self.deployed.infer(t_obs, pending, self.delay.estimate(self.now()))
            if chunk is None:
                if self.mode == 'request':  # keep the request: answer it once an observation comes
                    self._refuse('no recent observation to infer from')
                    self._pending = self._pending or pending
                    self._wake.set()
                elif t_obs is not None:
                    self._refuse('no recent observation to infer from')
                self._stop.wait(0.5 / self.deployed.fps)
                continue
            self._last_inferred = t_obs
            inference = time.perf_counter() - start
            if self.extra_delay_s:
                self._stop.wait(self.extra_delay_s)
            try:
                self.chunk_pub.publish(chunk_to_msg(chunk, JOINT_NAMES))
            except Exception:  # noqa: BLE001 - at Ctrl-C rclpy invalidates the context under this thread
                if not self.context.ok():
                    return
                raise
            published = self.now()
            self.delay.observe_chunk(t_obs, published)
            self.latency_ms.append((published - t_obs) * 1000.0)
            self.inference_ms.append(inference * 1000.0)
            self.chunks += 1

    # --- diagnostics ----------------------------------------------------------------------------------------
    def _status(self) -> Status:
        values = {'state': self.state, 'chunks': self.chunks, 'refused_observations': self.refused, 'mode': self.mode}
        for name, series in (('latency_ms', self.latency_ms), ('inference_ms', self.inference_ms)):
            if series:
                values[f'{name}_p50'] = f'{np.percentile(series, 50):.1f}'
                values[f'{name}_p99'] = f'{np.percentile(series, 99):.1f}'
        if self.deployed is not None and self.deployed.resized:
            values['resized_cameras'] = ', '.join(f'{c} from {h}x{w}' for c, (h, w) in self.deployed.resized.items())
        if self.state != 'ready':
            return Status(WARN, self.state, values)
        stale = self.sampler.sample(time.monotonic()).stale
        if stale:
            return Status(ERROR, f'no observation: {describe_stale(stale)}', values)
        return Status(OK, 'ready', values)


def main(args: list[str] | None = None) -> None:
    run_node(PolicyNode, start_errors=(DeploymentMetadataError, CalibrationError, FileNotFoundError, OSError), args=args)
