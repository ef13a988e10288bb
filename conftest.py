"""Pytest plugins shared by tests/ and every package's test/ folder."""

pytest_plugins = ['tests.harness.ros_graph', 'tests.harness.tiny_policies']
