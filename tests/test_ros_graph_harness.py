"""The harness itself: a node that ignores SIGINT or leaves a child behind fails its test."""

import os
import textwrap

import pytest

from tests.harness.ros_graph import REPO

pytest_plugins = ['pytester']


def _run_inner(pytester, body: str):
    pytester.makepyfile(test_inner=textwrap.dedent(body))
    return pytester.runpytest_subprocess('-p', 'tests.harness.ros_graph', '-p', 'no:cacheprovider', '-q')


@pytest.fixture
def inner_env(pytester, monkeypatch):
    monkeypatch.setenv('PYTHONPATH', f"{REPO}:{os.environ.get('PYTHONPATH', '')}")
    return pytester


def test_clean_node_passes(inner_env):
    result = _run_inner(inner_env, '''
        def test_ok(ros_graph):
            p = ros_graph.start('robolearn_camera', 'camera_node', name='cam')
            ros_graph.wait_for_topic('/cameras/front/image_raw')
    ''')
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(('label', 'command', 'failure'), [
    ('stubborn', "[sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                 "print(\"up\", flush=True); time.sleep(60)']", '*stubborn did not exit within 1 s of SIGINT*'),
    ('leaky', "['bash', '-c', 'sleep 60 & echo up; trap \"exit 0\" INT; while true; do sleep 0.1; done']",
     '*leaky left processes behind*'),
])
def test_a_node_that_does_not_stop_cleanly_fails_the_test(inner_env, label, command, failure):
    """A process that ignores SIGINT, or one that leaves a child behind, errors the test at teardown."""
    result = _run_inner(inner_env, f'''
        import sys
        def test_stop(ros_graph):
            ros_graph.stop_timeout = 1.0
            p = ros_graph.start_command({command}, label='{label}')
            p.wait_for_output('up')
    ''')
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([failure])


def test_each_test_has_its_own_domain(inner_env):
    result = _run_inner(inner_env, '''
        import os
        seen = []
        def test_a(ros_graph):
            seen.append(ros_graph.domain_id)
            assert ros_graph.env['ROS_DOMAIN_ID'] == str(ros_graph.domain_id)
        def test_b(ros_graph):
            # the lock of test_a was released, but test_b still gets a valid, exclusive id
            from tests.harness.ros_graph import DomainLease
            other = DomainLease()
            try:
                assert other.domain_id != ros_graph.domain_id
            finally:
                other.release()
    ''')
    result.assert_outcomes(passed=2)
