"""ACT (Zhao et al. 2023): a CVAE over action chunks with a transformer encoder/decoder."""

from .config import ACTConfig
from .model import ACTPolicy

__all__ = ['ACTConfig', 'ACTPolicy']
