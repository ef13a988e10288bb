"""The USB serial adapter's latency timer: FTDI-style adapters hold received bytes up to this long.

With the common 16 ms default every servo reply waits up to 16 ms in the adapter, which caps a bus at
~60 cycles a second; 1 ms is what a 100+ Hz arm needs (``echo 1 > .../latency_timer`` or a udev rule).
"""

from __future__ import annotations

import os
from pathlib import Path

SYSFS_USB_SERIAL = Path('/sys/bus/usb-serial/devices')


def latency_timer_ms(port: str, sysfs: Path = SYSFS_USB_SERIAL) -> int | None:
    """The latency timer of the adapter behind ``port`` (symlinks followed), or None if it has none."""
    device = Path(os.path.realpath(port)).name  # /dev/serial/by-id/... -> ttyUSB0
    try:
        return int((sysfs / device / 'latency_timer').read_text().strip())
    except (OSError, ValueError):
        return None  # not a usb-serial device (ttyACM, a pty), or unreadable


def latency_advice(port: str, sysfs: Path = SYSFS_USB_SERIAL) -> str | None:
    """A warning to show when the latency timer is above 1 ms, else None."""
    ms = latency_timer_ms(port, sysfs)
    if ms is None or ms <= 1:
        return None
    device = Path(os.path.realpath(port)).name
    return (
        f'{port}: the USB adapter latency timer is {ms} ms, which delays every servo reply; set it to 1 ms: '
        f'echo 1 | sudo tee {sysfs / device / "latency_timer"}'
    )
