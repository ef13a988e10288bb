"""Pytest plugins shared by tests/ and every package's test/ folder, and how `make test` splits the work."""

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
