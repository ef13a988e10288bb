"""camera_node's capture thread without ROS: pacing, frames counted as dropped, and reopening a failed source."""

import threading
import time

import numpy as np

from robolearn_camera.capture_loop import CaptureLoop
from robolearn_camera.frame_sources import SourceError


class ScriptedSource:
    """A source whose failures the test schedules: ``fail_reads`` read numbers raise, ``fail_opens`` opens raise."""

    def __init__(self, paced_by_node=True, fail_reads=(), fail_opens=0, read_delay=0.0):
        self.paced_by_node = paced_by_node
        self.fail_reads, self.fail_opens, self.read_delay = set(fail_reads), fail_opens, read_delay
        self.reads = self.opens = self.closes = 0

    def open(self):
        self.opens += 1
        if self.opens <= self.fail_opens:
            raise SourceError('camera unplugged')

    def read(self):
        self.reads += 1
        time.sleep(self.read_delay)
        if self.reads in self.fail_reads:
            raise SourceError('no frame')
        return np.zeros((4, 4, 3), np.uint8)

    def close(self):
        self.closes += 1

    def describe(self):
        return 'scripted'


def run_for(loop, seconds):
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,))
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(2)


def make(source, published, errors, fps=50.0):
    return CaptureLoop(source, fps, 0.05, published.append, errors.append, lambda _: None)


def test_a_source_paced_by_the_node_is_read_at_fps():
    published, errors = [], []
    loop = make(ScriptedSource(), published, errors)
    run_for(loop, 0.5)
    assert 20 <= len(published) <= 27, len(published)   # 50 fps for 0.5 s, tick 0 at once
    assert loop.state.connected and loop.state.dropped == 0 and not errors


def test_a_slow_read_drops_the_ticks_it_covers_instead_of_bursting():
    published, errors = [], []
    source = ScriptedSource(read_delay=0.0)
    loop = make(source, published, errors)
    original = source.read

    def read():  # the 5th read stalls for 5 periods
        if source.reads == 4:
            time.sleep(0.1)
        return original()
    source.read = read
    run_for(loop, 0.5)
    assert loop.state.dropped >= 3, loop.state
    assert len(published) + loop.state.dropped <= 27


def test_a_failed_source_is_closed_and_reopened_and_counted_as_a_reconnect():
    published, errors = [], []
    source = ScriptedSource(fail_reads={3}, fail_opens=0)
    loop = make(source, published, errors)
    run_for(loop, 0.4)
    assert source.closes == 1 and source.opens == 2 and loop.state.reconnects == 1
    assert loop.state.connected and errors == ['no frame; reconnecting']


def test_an_unplugged_camera_is_retried_and_logged_once():
    published, errors = [], []
    source = ScriptedSource(paced_by_node=False, fail_opens=3, read_delay=0.01)
    loop = make(source, published, errors)
    run_for(loop, 0.4)
    assert source.opens == 4 and errors == ['camera unplugged; retrying every 0.05 s']
    assert loop.state.connected and published
