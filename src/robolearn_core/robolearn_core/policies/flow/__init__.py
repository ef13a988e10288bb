"""Flow matching: a velocity field along the straight path from noise to the action chunk, Euler sampling."""

from .config import FlowConfig
from .model import FlowPolicy

__all__ = ['FlowConfig', 'FlowPolicy']
