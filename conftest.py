"""Pytest plugins shared by tests/ and every package's test/ folder, and how `make test` splits the work."""

import os

import pytest

pytest_plugins = ['tests.harness.ros_graph', 'tests.harness.tiny_policies']


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Two streams for `pytest -n 2 --dist loadgroup` (make test): robolearn_core's policy and training tests
    (torch on one thread, no processes) in one, everything else (node graphs over DDS, CLIs) in the other, each
    run in order. On 2 cores the one-thread torch tests take the core a node graph left idle (the suite used 1.1
    cores on average run serially), and two node graphs never run at once."""
    for item in items:
        folder = item.path.parent
        torch_only = (folder.name == 'test' and folder.parent.name == 'robolearn_core'
                      and item.path.name.startswith(('test_policy_', 'test_training_')))
        item.add_marker(pytest.mark.xdist_group('torch' if torch_only else 'processes'))


_NICED = False


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The torch stream's worker runs at nice 10: it takes only the CPU the node graphs leave. At equal
    priority it starved them enough to fail their timing checks (a recorder sampled 4 camera frames apart)."""
    global _NICED
    if not _NICED and os.environ.get('PYTEST_XDIST_WORKER') and any(
            m.args == ('torch',) for m in item.iter_markers('xdist_group')):
        os.setpriority(os.PRIO_PROCESS, 0, 10)  # the calling thread: torch runs on it (one thread, no workers)
        _NICED = True
