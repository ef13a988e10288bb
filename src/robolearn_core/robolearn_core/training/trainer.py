"""The training loop: one function, ``fit``, readable top to bottom (nanoGPT's shape).

dataset -> FrameTable on the device -> held-out episodes for validation -> AdamW with warmup and a
schedule -> bf16 autocast on GPU -> periodic, last and best checkpoints (each resumable) -> a
loss-curve PNG and metrics.jsonl in the output directory.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..dataset.api import FrameSource
from ..policies.checkpoint import load_policy, read_checkpoint_config, save_policy
from ..policies.common.base import Policy
from ..policies.deployment import deployment_metadata
from ..policies.registry import make_config, make_policy
from .frame_table import FrameTable
from .loss_plot import write_loss_curve

SCHEDULES = ('cosine', 'linear', 'constant')
STATE_FILE = 'training_state.pt'
WARMUP_STEPS = 10


@dataclasses.dataclass
class TrainSettings:
    """What `fit` does; None means the policy's own default (its config's ``train_defaults``)."""

    output_dir: str
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    warmup_steps: int | None = None
    schedule: str | None = None
    grad_clip: float | None = None
    device: str = 'auto'
    amp: str = 'auto'            # auto: bf16 autocast on CUDA, off on CPU; 'bf16' or 'off' to force
    workers: int = 2             # DataLoader worker processes reading (decoding) the dataset
    seed: int = 0
    val_episodes: int = -1       # held-out episodes; -1: 10% (at least 1 when there are >= 2 episodes)
    val_every: int = 1000
    val_max_frames: int = 2048
    save_every: int = 5000
    log_every: int = 50
    resume: str | None = None
    data_on_device: str = 'auto'  # auto: keep the decoded dataset on the GPU when it fits in 40% of free memory
    progress: bool = True

    def resolved(self, defaults: Mapping[str, Any]) -> 'TrainSettings':
        values = {k: (defaults[k] if getattr(self, k) is None else getattr(self, k))
                  for k in ('steps', 'batch_size', 'lr', 'weight_decay', 'warmup_steps', 'schedule', 'grad_clip')}
        out = dataclasses.replace(self, **values)
        if out.schedule not in SCHEDULES:
            raise ValueError(f'schedule must be one of {SCHEDULES}, got {out.schedule!r}')
        if out.steps < 1 or out.batch_size < 1 or out.lr <= 0:
            raise ValueError('steps, batch_size and lr must be positive')
        if out.amp not in ('auto', 'bf16', 'off'):
            raise ValueError(f"amp must be 'auto', 'bf16' or 'off', got {out.amp!r}")
        return out


def pick_device(name: str) -> torch.device:
    if name == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    device = torch.device(name)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError(f'device {name!r} asked for, but torch sees no CUDA GPU; use --device cpu or auto')
    return device


def lr_factor(step: int, settings: TrainSettings) -> float:
    if step < settings.warmup_steps:
        return (step + 1) / settings.warmup_steps
    if settings.schedule == 'constant':
        return 1.0
    progress = min(1.0, (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps))
    if settings.schedule == 'linear':
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def split_episodes(episodes: list[int], val_episodes: int, seed: int) -> tuple[list[int], list[int]]:
    """(train, validation) episode ids; validation is a seeded random choice of held-out episodes."""
    if val_episodes < 0:
        val_episodes = max(1, round(0.1 * len(episodes))) if len(episodes) >= 2 else 0
    if val_episodes >= len(episodes):
        raise ValueError(f'{val_episodes} validation episodes leave none to train on ({len(episodes)} episodes)')
    held = sorted(random.Random(seed).sample(episodes, val_episodes))
    return [e for e in episodes if e not in held], held


def _needed_keys(policy: Policy) -> tuple[list[str], list[str]]:
    cfg = policy.config
    obs = ([cfg.state_key] if cfg.uses_state else []) + list(cfg.camera_keys or [])
    return obs, obs + [cfg.action_key]


@torch.no_grad()
def validation_loss(policy: Policy, table: FrameTable, frames: torch.Tensor, batch_size: int,
                    autocast: torch.autocast, max_frames: int) -> float:
    """Mean loss over (a fixed, seeded subset of) the validation frames, with fixed noise: comparable across steps."""
    cfg = policy.config
    obs_keys, _ = _needed_keys(policy)
    if len(frames) > max_frames:
        pick = torch.randperm(len(frames), generator=torch.Generator().manual_seed(0))[:max_frames]
        frames = frames[pick.to(frames.device)]
    generator = torch.Generator(device=table.device).manual_seed(1234)
    policy.eval()
    total, count = 0.0, 0
    for i in range(0, len(frames), batch_size):
        idx = frames[i:i + batch_size]
        batch = table.batch(idx, obs_keys, cfg.n_obs_steps, cfg.action_key, cfg.horizon)
        with autocast:
            loss, _ = policy.loss(batch, generator=generator)
        total += loss.item() * len(idx)
        count += len(idx)
    policy.train()
    return total / max(1, count)


def _save(policy: Policy, directory: Path, step: int, optimizer, history: dict[str, Any],
          settings: TrainSettings, split: dict[str, list[int]]) -> None:
    save_policy(policy, directory, extra={'step': step, 'val_loss': history['val'][-1][1] if history['val'] else None})
    state = {'step': step, 'optimizer': optimizer.state_dict(), 'history': history,
             'settings': dataclasses.asdict(settings), 'split': split,
             'rng_cpu': torch.get_rng_state(),
             'rng_cuda': torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
    torch.save(state, directory / f'.{STATE_FILE}.tmp')
    (directory / f'.{STATE_FILE}.tmp').replace(directory / STATE_FILE)


def fit(source: FrameSource, policy_name: str | None, settings: TrainSettings,
        policy_overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Train a policy on ``source``; returns a summary (losses, timing, checkpoint paths)."""
    out = Path(settings.output_dir)
    resume_state = None
    if settings.resume:
        meta = read_checkpoint_config(settings.resume)
        if policy_name and policy_name != meta['policy']:
            raise ValueError(f'--resume {settings.resume} holds a {meta["policy"]} policy, not {policy_name}')
        policy_name = meta['policy']
        state_path = Path(settings.resume) / STATE_FILE
        if not state_path.is_file():
            raise FileNotFoundError(f'{state_path} not found: resume needs a checkpoint written by fit '
                                    f'(checkpoints/last or checkpoints/step_*)')
        resume_state = torch.load(state_path, map_location='cpu', weights_only=False)
    if policy_name is None:
        raise ValueError('name a policy (mlp, act, diffusion, flow) or resume from a checkpoint')

    config = make_config(policy_name, policy_overrides)
    settings = settings.resolved(config.train_defaults)
    device = pick_device(settings.device)
    torch.manual_seed(settings.seed)
    np.random.seed(settings.seed)
    random.seed(settings.seed)
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True

    if resume_state is not None:
        policy = load_policy(settings.resume, device)
        policy.train()
    else:
        policy = make_policy(config, source.features, list(source.camera_keys), source.stats).to(device)
    policy.deployment = deployment_metadata(source, policy.config)  # every checkpoint saved below carries it
    obs_keys, keys = _needed_keys(policy)

    t_load = time.perf_counter()
    table = FrameTable.from_source(source, keys, workers=settings.workers, progress=settings.progress)
    keep_on_device = device.type == 'cuda' and (
        settings.data_on_device == 'yes' or (settings.data_on_device == 'auto'
                                             and table.nbytes() < 0.4 * torch.cuda.mem_get_info(device)[0]))
    if keep_on_device:
        table = table.to(device)
    dataset_load_s = time.perf_counter() - t_load
    episodes = sorted(torch.unique(table.episode_index).tolist())
    if resume_state is not None:
        split = resume_state['split']
    else:
        train_eps, val_eps = split_episodes(episodes, settings.val_episodes, settings.seed)
        split = {'train': train_eps, 'val': val_eps}
    train_frames = table.frames_of(split['train'])
    val_frames = table.frames_of(split['val'] or split['train'])

    use_bf16 = settings.amp == 'bf16' or (settings.amp == 'auto' and device.type == 'cuda')
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)
    decay, no_decay = [], []
    for p in policy.parameters():
        (no_decay if p.dim() < 2 else decay).append(p)
    optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': settings.weight_decay},
                                   {'params': no_decay, 'weight_decay': 0.0}], lr=settings.lr,
                                  fused=device.type == 'cuda', foreach=None if device.type == 'cuda' else True)
    start_step = 0
    history: dict[str, Any] = {'train': [], 'val': [], 'best_val': None}
    if resume_state is not None:
        optimizer.load_state_dict(resume_state['optimizer'])
        start_step = resume_state['step']
        history = resume_state['history']
        torch.set_rng_state(resume_state['rng_cpu'])
        if device.type == 'cuda' and resume_state['rng_cuda']:
            torch.cuda.set_rng_state_all(resume_state['rng_cuda'])

    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out / 'checkpoints'
    metrics = (out / 'metrics.jsonl').open('a')
    (out / 'settings.json').write_text(json.dumps({'policy': policy.config.to_dict(), 'policy_name': policy_name,
                                                   'train': dataclasses.asdict(settings), 'split': split}, indent=2))
    n_train = len(train_frames)
    policy.train()
    bar = tqdm(total=settings.steps, initial=start_step, desc=f'fit {policy_name}', unit='step',
               disable=not settings.progress, dynamic_ncols=True)
    train_time, trained_steps, time_at_warmup = 0.0, 0, None
    last_log = start_step
    running: list[torch.Tensor] = []
    loop_start = time.perf_counter()  # what is not train_time from here on: validation, checkpoints, plots
    if start_step == 0:  # the loss before training: what "validation loss went down" is measured against
        history['val'].append((0, validation_loss(policy, table, val_frames, settings.batch_size, autocast,
                                                  settings.val_max_frames)))
    t0 = time.perf_counter()
    for step in range(start_step, settings.steps):
        for group in optimizer.param_groups:
            group['lr'] = settings.lr * lr_factor(step, settings)
        idx = train_frames[torch.randint(n_train, (settings.batch_size,), device=train_frames.device)]
        batch = table.batch(idx, obs_keys, policy.config.n_obs_steps, policy.config.action_key, policy.config.horizon)
        if not keep_on_device:
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with autocast:
            loss, parts = policy.loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if settings.grad_clip:
            torch.nn.utils.clip_grad_norm_(policy.parameters(), settings.grad_clip)
        optimizer.step()
        running.append(loss.detach())
        trained_steps += 1
        done = step + 1
        if trained_steps == WARMUP_STEPS:  # steady-state rate excludes autotuning and allocator warm-up
            if device.type == 'cuda':
                torch.cuda.synchronize(device)
            time_at_warmup = train_time + time.perf_counter() - t0
        if done % settings.log_every == 0 or done == settings.steps:
            mean = torch.stack(running).mean().item()
            running.clear()
            history['train'].append((done, mean))
            metrics.write(json.dumps({'step': done, 'loss': mean, 'lr': optimizer.param_groups[0]['lr'],
                                      **{k: float(v) for k, v in parts.items()}}) + '\n')
            bar.set_postfix(loss=f'{mean:.4g}')
            bar.update(done - last_log)
            last_log = done
        if done % settings.val_every == 0 or done == settings.steps:
            t_pause = time.perf_counter()
            train_time += t_pause - t0
            val = validation_loss(policy, table, val_frames, settings.batch_size, autocast, settings.val_max_frames)
            history['val'].append((done, val))
            metrics.write(json.dumps({'step': done, 'val_loss': val}) + '\n')
            metrics.flush()
            if history['best_val'] is None or val < history['best_val']:
                history['best_val'] = val
                _save(policy, ckpt_dir / 'best', done, optimizer, history, settings, split)
            t0 = time.perf_counter()
        if done % settings.save_every == 0 or done == settings.steps:
            t_pause = time.perf_counter()
            train_time += t_pause - t0
            _save(policy, ckpt_dir / 'last', done, optimizer, history, settings, split)
            if done != settings.steps:
                _save(policy, ckpt_dir / f'step_{done:07d}', done, optimizer, history, settings, split)
            write_loss_curve(out / 'loss_curve.png', history['train'], history['val'],
                             f'{policy_name}: {out.name}')
            t0 = time.perf_counter()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    train_time += time.perf_counter() - t0
    bar.close()
    metrics.close()
    write_loss_curve(out / 'loss_curve.png', history['train'], history['val'], f'{policy_name}: {out.name}')
    paused_s = time.perf_counter() - loop_start - train_time
    first_val = history['val'][0][1] if history['val'] else None
    return {
        'policy': policy_name, 'steps': settings.steps, 'device': str(device), 'bf16': use_bf16,
        'train_episodes': len(split['train']), 'val_episodes': len(split['val']),
        'final_train_loss': history['train'][-1][1] if history['train'] else None,
        'first_val_loss': first_val, 'best_val_loss': history['best_val'],
        'final_val_loss': history['val'][-1][1] if history['val'] else None,
        'samples_per_s': trained_steps * settings.batch_size / max(train_time, 1e-9),
        'samples_per_s_after_warmup': ((trained_steps - WARMUP_STEPS) * settings.batch_size
                                       / max(train_time - time_at_warmup, 1e-9)) if time_at_warmup is not None
                                      and trained_steps > WARMUP_STEPS else None,
        'dataset_load_s': dataset_load_s, 'first_steps_s': time_at_warmup, 'validation_and_saving_s': paused_s,
        'checkpoint': str(ckpt_dir / 'best'), 'last_checkpoint': str(ckpt_dir / 'last'),
        'loss_curve': str(out / 'loss_curve.png'), 'data_on_device': keep_on_device,
    }
