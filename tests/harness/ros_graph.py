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
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data

from robolearn_ros.process_graph import NodeProcess, ProcessGraph

REPO = Path(__file__).resolve().parents[2]
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


class TestProcess(NodeProcess):
    """A NodeProcess whose waits fail the test, with the process output, instead of returning None."""

    def wait_for_output(self, pattern: str, timeout: float = 10.0) -> re.Match:
        m = super().wait_for_output(pattern, timeout)
        if m is None:
            state = 'is still running' if self.running() else f'exited with {self.proc.returncode}'
            pytest.fail(f'{self.label} did not print /{pattern}/ within {timeout} s ({state}); output:\n{self.output()}')
        return m

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to exit by itself (e.g. a node that must refuse to start)."""
        self.may_exit = True
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f'{self.label} still running after {timeout} s; output:\n{self.output()}')


class RosGraph(ProcessGraph):
    """The processes of one test, a probe node in the same domain, and helpers to wait on both.

    Process handling is robolearn_ros.process_graph (the same code `make demo` and `evaluate` use); this
    class adds the probe node and turns timeouts and crashes into test failures that show node output.
    """

    process_class = TestProcess

    def __init__(self, domain_id: int, workdir: Path, stop_timeout: float = 5.0) -> None:
        super().__init__(
            workdir,
            env={'ROS_DOMAIN_ID': str(domain_id), 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'},
            stop_timeout=stop_timeout,
        )
        self.domain_id = domain_id
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node: Node = rclpy.create_node('test_probe', context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def start_command(self, command: list[str], *, label: str, params_file: str | Path | None = None, **kw: Any) -> TestProcess:
        """As ProcessGraph.start_command; a relative ``params_file`` is taken from the repository root."""
        if params_file is not None and not Path(params_file).is_absolute():
            params_file = REPO / params_file
        return super().start_command(command, label=label, params_file=params_file, **kw)  # type: ignore[return-value]

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
        crashed = self.crashed()
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

    # --- teardown --------------------------------------------------------------------------------
    def close(self) -> list[str]:
        problems = super().close()
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
