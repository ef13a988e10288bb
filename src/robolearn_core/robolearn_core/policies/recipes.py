"""The papers' training recipes, as named sets of policy-config and `fit` values (``fit --recipe NAME``).

Why named recipes: what makes these policies work on real tasks is not only the network but the whole
recipe (pretrained and frozen vision, augmentation, EMA, optimizer and schedule). Each entry says where
its numbers come from; command-line values override a recipe's. ``deployment`` is what the recipe's
authors ran at inference (the executor's chunk aggregation); ``fit`` records it in settings.json.

Sources:
- ACT: Zhao et al. 2023, "Learning Fine-Grained Bimanual Manipulation with Low-Cost Hardware" (Table of
  hyperparameters: lr 1e-5, batch 8, 4 encoder layers, d 512, 8 heads, feed-forward 3200, chunk 100,
  beta (KL weight) 10, dropout 0.1; ResNet-18 ImageNet backbone, frozen BatchNorm, backbone lr 1e-5,
  weight decay 1e-4, temporal ensembling with m = 0.01), and its code (one decoder layer is used; LeRobot
  keeps n_decoder_layers=1 for that reason, and 100000 steps at batch 8 for its ALOHA runs).
- Diffusion Policy: Chi et al. 2023, "Diffusion Policy: Visuomotor Policy Learning via Action Diffusion",
  CNN-based variant: horizon 16, 2 observation steps, 8 executed actions, U-Net (512, 1024, 2048) with
  kernel 5 and 8 groups, 100 DDPM training steps (squared cosine), DDIM with 10 steps at inference on
  the real robot, ResNet-18 from scratch with GroupNorm and spatial softmax, random crop (84 of 96 px,
  0.875; their real-world runs crop 216x288 of 240x320, 0.9), EMA (power 0.75, max 0.9999), AdamW
  lr 1e-4, betas (0.95, 0.999), weight decay 1e-6, cosine schedule with 500 warm-up steps, batch 64.
  The full U-Net is ``diffusion-paper-full``; ``diffusion-paper`` keeps robolearn's (256, 512, 1024)
  (a third of the parameters, the size LeRobot's benchmarks use), everything else the same.
- Flow: the same recipe with the flow-matching objective and 10 Euler steps. Flow matching for action
  chunks as in Black et al. 2024 (pi0), who draw training times from a beta distribution that puts more
  weight near the noise end; here ``time_power`` 1.5 (t = U ** 1.5) does the same in spirit. Measured on
  robolearn's simulated pick-and-place it is the wrong way there: 0.5 (more weight near the data end, where the
  last centimetre of a grasp is decided) and ``state_noise`` 0.1 (`--set`) did better, and better still over
  30,000 steps (80% on 50 held-out seeds; diffusion without state noise got worse that long; docs/closed-loop.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Recipe:
    policy: str
    config: dict[str, Any]
    train: dict[str, Any]
    deployment: dict[str, Any] = field(default_factory=dict)
    source: str = ''


_CHI_TRAIN = {'lr': 1e-4, 'adam_betas': (0.95, 0.999), 'weight_decay': 1e-6, 'schedule': 'cosine',
              'warmup_steps': 500, 'batch_size': 64, 'ema_decay': 0.9999, 'steps': 100000, 'grad_clip': 10.0}
_CHI_CONFIG = {'horizon': 16, 'n_obs_steps': 2, 'kernel_size': 5, 'n_groups': 8, 'vision_norm': 'group',
               'num_keypoints': 32, 'crop_ratio': 0.9, 'num_inference_steps': 10}
_CHUNK_DEPLOYMENT = {'aggregation': 'replace', 'execute_steps': 8}

RECIPES: dict[str, Recipe] = {
    'act-paper': Recipe(
        'act',
        {'horizon': 100, 'kl_weight': 10.0, 'd_model': 512, 'n_heads': 8, 'dim_feedforward': 3200,
         'n_encoder_layers': 4, 'n_decoder_layers': 1, 'n_vae_encoder_layers': 4, 'latent_dim': 32, 'dropout': 0.1,
         'vision_norm': 'frozen_batch', 'pretrained_backbone': 'imagenet'},
        {'lr': 1e-5, 'backbone_lr': 1e-5, 'weight_decay': 1e-4, 'batch_size': 8, 'schedule': 'constant',
         'warmup_steps': 0, 'steps': 100000, 'grad_clip': 10.0, 'ema_decay': 0.0},
        {'aggregation': 'temporal_ensemble', 'm': 0.01}, 'Zhao et al. 2023 (ACT), its code, LeRobot act defaults'),
    'diffusion-paper': Recipe('diffusion', {**_CHI_CONFIG, 'down_dims': [256, 512, 1024]}, dict(_CHI_TRAIN),
                              _CHUNK_DEPLOYMENT, 'Chi et al. 2023 (Diffusion Policy, CNN), robolearn U-Net size'),
    'diffusion-paper-full': Recipe('diffusion', {**_CHI_CONFIG, 'down_dims': [512, 1024, 2048]}, dict(_CHI_TRAIN),
                                   _CHUNK_DEPLOYMENT, 'Chi et al. 2023 (Diffusion Policy, CNN), full U-Net'),
    'flow-paper': Recipe('flow', {**_CHI_CONFIG, 'down_dims': [256, 512, 1024], 'time_power': 1.5}, dict(_CHI_TRAIN),
                         _CHUNK_DEPLOYMENT, 'Chi et al. 2023 recipe with flow matching (Black et al. 2024)'),
    'flow-paper-full': Recipe('flow', {**_CHI_CONFIG, 'down_dims': [512, 1024, 2048], 'time_power': 1.5},
                              dict(_CHI_TRAIN), _CHUNK_DEPLOYMENT,
                              'Chi et al. 2023 recipe with flow matching (Black et al. 2024), full U-Net'),
}


def recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f'unknown recipe {name!r}; choose one of: {", ".join(RECIPES)}')
    return RECIPES[name]
