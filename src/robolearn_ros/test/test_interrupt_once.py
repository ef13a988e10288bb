"""raise_on_first_sigint: the first SIGINT interrupts, a second one (ros2 launch forwards Ctrl-C) cannot cut the clean-up."""

import signal
import subprocess
import sys
import time

PROGRAM = r'''
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own, even if started with SIGINT ignored
if sys.argv[1] == 'once':
    from robolearn_ros.interrupt_once import raise_on_first_sigint
    raise_on_first_sigint()
try:
    print('ready', flush=True)
    time.sleep(30)
except KeyboardInterrupt:
    print('interrupted', flush=True)
finally:
    time.sleep(0.5)  # clean-up that takes a while: a second SIGINT arrives here
    print('clean-up done', flush=True)
'''


def run_interrupted_twice(mode: str) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, '-c', PROGRAM, mode], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout.readline().strip() == 'ready'
    proc.send_signal(signal.SIGINT)
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    return proc.returncode, out


def test_second_sigint_is_ignored_and_the_clean_up_finishes():
    code, out = run_interrupted_twice('once')
    assert code == 0 and 'interrupted' in out and 'clean-up done' in out, out


def test_without_it_a_second_sigint_kills_the_clean_up():
    """The failure the helper exists for, so the test above cannot pass by accident."""
    code, out = run_interrupted_twice('default')
    assert code != 0 and 'clean-up done' not in out, out
