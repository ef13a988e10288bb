"""Bad setup is explained: each failure stops scripts/setup with a message that says what to do."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _setup(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(('VIRTUAL_ENV', 'ROBOLEARN_'))}
    base.update(ROBOLEARN_VENV=str(tmp_path / 'venv'), ROBOLEARN_NO_ROS='1', **env)
    return subprocess.run([str(REPO / 'scripts' / 'setup')], env=base, capture_output=True, text=True, timeout=300)


def test_unsupported_python_is_named(tmp_path):
    fake = tmp_path / 'python3.9'
    fake.write_text('#!/bin/sh\necho 3.9\n')
    fake.chmod(0o755)
    r = _setup(tmp_path, PYTHON=str(fake))
    assert r.returncode == 1
    assert 'no suitable Python: the pip environment needs CPython 3.11 3.12 (found: 3.9' in r.stderr
    assert 'PYTHON=/path/to/python3.12 make test' in r.stderr
    assert not (tmp_path / 'venv').exists()


def test_full_disk_is_named(tmp_path):
    r = _setup(tmp_path, ROBOLEARN_SETUP_MIN_FREE_MB=str(10**12))
    assert r.returncode == 1
    assert 'not enough disk space' in r.stderr and 'ROBOLEARN_VENV=/big/disk/robolearn-venv make test' in r.stderr
    assert not (tmp_path / 'venv').exists()


def test_unreachable_registry_is_named(tmp_path):
    r = _setup(
        tmp_path,
        PIP_CONFIG_FILE=os.devnull,
        PIP_INDEX_URL='http://127.0.0.1:9/simple',
        PIP_EXTRA_INDEX_URL='',
        PIP_FIND_LINKS='',
        PIP_RETRIES='0',
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'cannot reach the Python package registry' in r.stderr, r.stderr
    assert 'run make again' in r.stderr
    # nothing half-installed is taken for a finished setup: the next run tries again
    assert not (tmp_path / 'venv' / '.robolearn-setup').exists()


def test_second_setup_is_a_no_op():
    r = subprocess.run([str(REPO / 'scripts' / 'setup')], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout == '' and r.stderr == ''
