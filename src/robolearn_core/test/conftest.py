"""Fixtures shared by robolearn_core's tests."""

import pytest
import torch


@pytest.fixture
def torch_one_thread():
    """Tiny models: one thread avoids OpenMP spinning against other processes on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
