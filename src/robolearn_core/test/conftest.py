"""Fixtures shared by robolearn_core's tests."""

import os

import pytest
import torch


@pytest.fixture
def torch_one_thread():
    """Tiny models: one thread avoids OpenMP spinning against other processes on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True, scope='session')
def frame_cache_in_tmp(tmp_path_factory):
    """fit's decoded-frame cache of recorded test datasets goes to a temporary folder, not ~/.cache."""
    before = os.environ.get('ROBOLEARN_CACHE_DIR')
    os.environ['ROBOLEARN_CACHE_DIR'] = str(tmp_path_factory.mktemp('frame_cache'))
    yield
    if before is None:
        os.environ.pop('ROBOLEARN_CACHE_DIR', None)
    else:
        os.environ['ROBOLEARN_CACHE_DIR'] = before
