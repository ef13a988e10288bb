"""Start ROS node executables as separate processes, the way a launch file does, and stop them cleanly.

Why it exists: the pip environment has no `ros2 launch`, yet tests, `make demo` and `evaluate` must run
the same executables with the same YAML files as the launch files do
(``<exe> --ros-args --params-file config/x.yaml -r __node:=name``). Plain subprocess code: no rclpy here.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


def find_executable(package: str, executable: str) -> Path:
    """``<prefix>/lib/<package>/<executable>`` for the first prefix on AMENT_PREFIX_PATH that has it."""
    prefixes = [p for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
    for prefix in prefixes:
        path = Path(prefix) / 'lib' / package / executable
        if path.exists():
            return path
    raise FileNotFoundError(
        f'no executable {executable!r} of package {package!r} on AMENT_PREFIX_PATH: is it a console script of '
        f'{package}, and is the workspace built and sourced (scripts/with-env ...)?'
    )


@dataclass
class NodeProcess:
    """One started process: its command line, the process and its combined stdout/stderr log."""

    label: str
    argv: list[str]
    proc: subprocess.Popen
    log_path: Path
    may_exit: bool = False  # the process is expected to end by itself (e.g. a node that must refuse to start)
    problems: list[str] = field(default_factory=list)

    def output(self) -> str:
        return self.log_path.read_text(errors='replace')

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait_for_output(self, pattern: str, timeout: float = 10.0) -> re.Match | None:
        """The first match of ``pattern`` in the output, or None if the process exits or time runs out first."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.output(), re.MULTILINE)
            if m or not self.running() or time.monotonic() > deadline:
                return m
            time.sleep(0.05)

    def interrupt(self, timeout: float) -> list[str]:
        """SIGINT, as ``ros2 launch`` sends; kill what does not exit in time or is left behind, and say so."""
        if self.running():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.problems.append(f'{self.label} did not exit within {timeout:g} s of SIGINT; killed')
                self.proc.kill()
                self.proc.wait(5)
        try:
            os.killpg(self.proc.pid, 0)  # started with its own session: pgid == pid
        except ProcessLookupError:
            return self.problems
        self.problems.append(f'{self.label} left processes behind in its session; killed them')
        os.killpg(self.proc.pid, signal.SIGKILL)
        return self.problems


class ProcessGraph:
    """The processes of one graph. ``close()`` stops them in reverse start order and returns the problems."""

    process_class: type[NodeProcess] = NodeProcess

    def __init__(self, workdir: Path, env: Mapping[str, str] | None = None, stop_timeout: float = 5.0) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stop_timeout = stop_timeout
        self.processes: list[NodeProcess] = []
        self.env = {**os.environ, 'PYTHONUNBUFFERED': '1', 'RCUTILS_LOGGING_BUFFERED_STREAM': '0',
                    'RCUTILS_COLORIZED_OUTPUT': '0', **(env or {})}

    def start(self, package: str, executable: str, *, args: list[str] | None = None, **ros: Any) -> NodeProcess:
        """Start an installed node: ``<exe> [args] --ros-args ...``; ``ros`` as for ``start_command``."""
        label = ros.get('name') or executable
        return self.start_command([str(find_executable(package, executable)), *(args or [])], label=label, **ros)

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
        """Start any command with ROS arguments: parameter file, parameter overrides, node name, remaps."""
        ros_args: list[str] = []
        if params_file is not None:
            ros_args += ['--params-file', str(Path(params_file).resolve())]
        if params:
            # Overrides as one more YAML file: rclpy parses it exactly like a launch file's parameters.
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
        with open(log_path, 'wb') as log:
            proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**self.env, **(env or {})}, cwd=self.workdir, start_new_session=True,
            )
        node = self.process_class(label, argv, proc, log_path)
        self.processes.append(node)
        return node

    def crashed(self) -> list[NodeProcess]:
        """Processes that ended with an error although nobody expected them to end."""
        return [p for p in self.processes if not p.may_exit and p.proc.poll() not in (None, 0)]

    def describe(self, tail: int = 4000) -> str:
        parts = []
        for p in self.processes:
            state = 'running' if p.running() else f'exited {p.proc.returncode}'
            parts.append(f'----- {p.label} ({state}): {" ".join(p.argv)}\n{p.output()[-tail:]}')
        return '\n'.join(parts)

    def close(self) -> list[str]:
        problems: list[str] = []
        for p in reversed(self.processes):
            problems += p.interrupt(self.stop_timeout)
        return problems
