"""Plain MSE regression of an action chunk: the baseline that averages the modes of the data."""

from .config import MLPConfig
from .model import MLPPolicy

__all__ = ['MLPConfig', 'MLPPolicy']
