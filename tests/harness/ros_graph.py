"""Start node executables as separate processes, the way a launch file would, and watch them over real DDS.

Use the ``ros_graph`` fixture::

    def test_something(ros_graph):
        cam = ros_graph.start('robolearn_camera', 'camera_node', name='front_camera',
                              params_file='config/camera.yaml', params={'width': 64})
        ros_graph.wait_for_topic('/cameras/front/image_raw')
        images = ros_graph.subscribe('/cameras/front/image_raw', Image)
        ros_graph.spin_until(lambda: len(images) >= 3)

Each test gets its own ROS_DOMAIN_ID (held by a lock file, so concurrent test runs on one machine
cannot share one either) and discovery limited to localhost. At teardown every process gets SIGINT
and must exit within ``stop_timeout`` seconds and leave no process of its session behind, or the test
fails; the output of every process is printed when a test fails.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import rclpy
import yaml
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data

REPO = Path(__file__).resolve().parents[2]
INSTALL = Path(os.environ.get('ROBOLEARN_INSTALL', REPO / 'install'))
DOMAIN_LOCK_DIR = Path(tempfile.gettempdir()) / 'robolearn-ros-domains'
# Fast DDS on Linux: domain ids 0..101 leave room for the participants' ports.
DOMAIN_IDS = range(1, 102)


class DomainLease:
    """An exclusive ROS_DOMAIN_ID for one test, across processes (flock on a per-id file)."""

    def __init__(self) -> None:
        DOMAIN_LOCK_DIR.mkdir(exist_ok=True)
        start = (os.getpid() * 7 + time.monotonic_ns()) % len(DOMAIN_IDS)
        for i in range(len(DOMAIN_IDS)):
            domain = DOMAIN_IDS[(start + i) % len(DOMAIN_IDS)]
            fd = os.open(DOMAIN_LOCK_DIR / f'{domain}.lock', os.O_CREAT | os.O_RDWR, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.domain_id, self._fd = domain, fd
            return
        raise RuntimeError(f'all ROS domain ids {DOMAIN_IDS.start}..{DOMAIN_IDS.stop - 1} are in use by other tests')

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


@dataclass
class NodeProcess:
    """One started node: its command line, its process and its combined stdout/stderr log."""

    label: str
    argv: list[str]
    proc: subprocess.Popen
    log_path: Path
    returncode: int | None = None
    may_exit: bool = False  # set by wait_exit: a test that expects the process to end by itself
    problems: list[str] = field(default_factory=list)

    def output(self) -> str:
        return self.log_path.read_text(errors='replace')

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait_for_output(self, pattern: str, timeout: float = 10.0) -> re.Match:
        """Wait until the process printed a line matching ``pattern``; fail if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.output(), re.MULTILINE)
            if m:
                return m
            if not self.running():
                break
            time.sleep(0.05)
        state = 'is still running' if self.running() else f'exited with {self.proc.returncode}'
        pytest.fail(f'{self.label} did not print /{pattern}/ within {timeout} s ({state}); output:\n{self.output()}')

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to exit by itself (e.g. a node that must refuse to start)."""
        self.may_exit = True
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f'{self.label} still running after {timeout} s; output:\n{self.output()}')

    def interrupt(self, timeout: float) -> None:
        """SIGINT, as ros2 launch sends; record a problem if it does not exit or leaves processes behind."""
        if self.running():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.problems.append(f'{self.label} did not exit within {timeout} s of SIGINT; killed')
                self.proc.kill()
                self.proc.wait(5)
        self.returncode = self.proc.returncode
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return
        self.problems.append(f'{self.label} left processes behind in its session; killed them')
        os.killpg(self.proc.pid, signal.SIGKILL)


class RosGraph:
    """The processes of one test, a probe node in the same domain, and helpers to wait on both."""

    def __init__(self, domain_id: int, workdir: Path, stop_timeout: float = 5.0) -> None:
        self.domain_id = domain_id
        self.workdir = workdir
        self.stop_timeout = stop_timeout
        self.processes: list[NodeProcess] = []
        self.env = dict(os.environ)
        self.env.update(
            ROS_DOMAIN_ID=str(domain_id),
            ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST',
            PYTHONUNBUFFERED='1',
            RCUTILS_LOGGING_BUFFERED_STREAM='0',
            RCUTILS_COLORIZED_OUTPUT='0',
        )
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node: Node = rclpy.create_node('test_probe', context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    # --- processes -----------------------------------------------------------------------------
    @staticmethod
    def executable(package: str, executable: str) -> Path:
        path = INSTALL / package / 'lib' / package / executable
        if not path.exists():
            raise FileNotFoundError(f'{path} does not exist: is {executable!r} a console script of {package}, and is the workspace built?')
        return path

    def start(
        self,
        package: str,
        executable: str,
        *,
        name: str | None = None,
        namespace: str | None = None,
        params_file: str | Path | None = None,
        params: Mapping[str, Any] | None = None,
        remaps: Mapping[str, str] | None = None,
        args: list[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> NodeProcess:
        """Start an installed node executable: ``<exe> [args] --ros-args --params-file F -r __node:=name ...``."""
        return self.start_command(
            [str(self.executable(package, executable)), *(args or [])],
            label=name or executable,
            name=name,
            namespace=namespace,
            params_file=params_file,
            params=params,
            remaps=remaps,
            env=env,
        )

    def start_command(
        self,
        command: list[str],
        *,
        label: str,
        name: str | None = None,
        namespace: str | None = None,
        params_file: str | Path | None = None,
        params: Mapping[str, Any] | None = None,
        remaps: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> NodeProcess:
        """Start any command (a test-only node script, a tool) with the same ROS arguments and checks."""
        ros_args: list[str] = []
        if params_file is not None:
            path = Path(params_file)
            ros_args += ['--params-file', str(path if path.is_absolute() else REPO / path)]
        if params:
            # One YAML file for overrides: rclpy parses it exactly like a launch file's parameters.
            override = self.workdir / f'{label}-{len(self.processes)}-params.yaml'
            override.write_text(yaml.safe_dump({'/**': {'ros__parameters': dict(params)}}))
            ros_args += ['--params-file', str(override)]
        if name:
            ros_args += ['-r', f'__node:={name}']
        if namespace:
            ros_args += ['-r', f'__ns:={namespace}']
        for src, dst in (remaps or {}).items():
            ros_args += ['-r', f'{src}:={dst}']
        argv = [*command, *(['--ros-args', *ros_args] if ros_args else [])]
        log_path = self.workdir / f'{label}-{len(self.processes)}.log'
        log = open(log_path, 'wb')
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**self.env, **(env or {})},
            cwd=self.workdir,
            start_new_session=True,
        )
        log.close()
        node = NodeProcess(label, argv, proc, log_path)
        self.processes.append(node)
        return node

    def stop(self, node: NodeProcess) -> None:
        node.interrupt(self.stop_timeout)

    # --- the probe node --------------------------------------------------------------------------
    def spin_until(self, predicate: Callable[[], bool], timeout: float = 10.0, message: str = '') -> None:
        """Spin the probe node until ``predicate()`` holds; fail the test (with node output) if it does not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            self._fail_on_crash()
            self.executor.spin_once(timeout_sec=0.02)
        if predicate():
            return
        pytest.fail(f'timed out after {timeout} s waiting for {message or predicate}\n{self.describe()}')

    def _fail_on_crash(self) -> None:
        crashed = [p for p in self.processes if not p.may_exit and p.proc.poll() not in (None, 0)]
        if crashed:
            pytest.fail(f'{crashed[0].label} exited with {crashed[0].proc.returncode} while the test waited\n{self.describe()}')

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=min(0.02, max(deadline - time.monotonic(), 0)))

    def wait_for_topic(self, topic: str, timeout: float = 15.0) -> None:
        """Wait until some process publishes ``topic``."""
        self.spin_until(lambda: self.node.count_publishers(topic) > 0, timeout, f'a publisher on {topic}')

    def subscribe(self, topic: str, msg_type: type, qos: QoSProfile | int = 10) -> list:
        """Subscribe the probe node; returns the list that received messages are appended to."""
        received: list = []
        self.node.create_subscription(msg_type, topic, received.append, qos)
        return received

    def subscribe_sensor(self, topic: str, msg_type: type) -> list:
        return self.subscribe(topic, msg_type, qos_profile_sensor_data)

    def publisher(self, topic: str, msg_type: type, qos: QoSProfile | int = 10):
        return self.node.create_publisher(msg_type, topic, qos)

    def describe(self) -> str:
        parts = []
        for p in self.processes:
            state = 'running' if p.running() else f'exited {p.proc.returncode}'
            parts.append(f'----- {p.label} ({state}): {" ".join(p.argv)}\n{p.output()[-4000:]}')
        return '\n'.join(parts)

    # --- teardown --------------------------------------------------------------------------------
    def close(self) -> list[str]:
        problems: list[str] = []
        for p in reversed(self.processes):
            p.interrupt(self.stop_timeout)
            problems += p.problems
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        return problems


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[Any]:
    report = yield
    if report.when == 'call':
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def ros_graph(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RosGraph]:
    lease = DomainLease()
    graph = RosGraph(lease.domain_id, tmp_path)
    try:
        yield graph
    finally:
        problems = graph.close()
        lease.release()
        if request.node.stash.get(_CALL_FAILED, False) or problems:
            sys.stdout.write(f'\nnode output (ROS_DOMAIN_ID={graph.domain_id}):\n{graph.describe()}\n')
        if problems:
            pytest.fail('node processes did not stop cleanly: ' + '; '.join(problems))
