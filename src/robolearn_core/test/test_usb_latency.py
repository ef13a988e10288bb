"""The latency-timer check, against a sysfs tree laid out like Linux's."""

from robolearn_core.feetech.usb_latency import latency_advice, latency_timer_ms


def test_reads_the_timer_behind_a_symlink(tmp_path):
    sysfs = tmp_path / 'sys'
    (sysfs / 'ttyUSB3').mkdir(parents=True)
    (sysfs / 'ttyUSB3' / 'latency_timer').write_text('16\n')
    dev = tmp_path / 'dev'
    dev.mkdir()
    (dev / 'ttyUSB3').touch()
    (dev / 'so100_follower').symlink_to(dev / 'ttyUSB3')
    assert latency_timer_ms(str(dev / 'so100_follower'), sysfs) == 16
    advice = latency_advice(str(dev / 'so100_follower'), sysfs)
    assert '16 ms' in advice and 'echo 1 | sudo tee' in advice and 'ttyUSB3/latency_timer' in advice
    (sysfs / 'ttyUSB3' / 'latency_timer').write_text('1\n')
    assert latency_advice(str(dev / 'so100_follower'), sysfs) is None


def test_devices_without_a_timer(tmp_path):
    assert latency_timer_ms('/dev/ttyACM0', tmp_path) is None
    assert latency_advice(str(tmp_path / 'pty'), tmp_path) is None
