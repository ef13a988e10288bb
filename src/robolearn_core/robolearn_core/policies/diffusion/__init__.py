"""Diffusion Policy (Chi et al. 2023): DDPM-trained 1D U-Net over the action chunk, DDIM sampling."""

from .config import DiffusionConfig
from .model import DiffusionPolicy

__all__ = ['DiffusionConfig', 'DiffusionPolicy']
