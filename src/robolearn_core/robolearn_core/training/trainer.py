"""The training loop: one function, ``fit``, readable top to bottom (nanoGPT's shape).

dataset -> camera frames decoded once into the on-disk cache at the policy's image size -> the table on
the GPU where it fits (else batches gathered from the cache by workers) -> held-out episodes for
validation -> AdamW with warm-up and a schedule, bf16 autocast on GPU, the step as one CUDA graph on
one GPU, DDP under torchrun -> EMA of the weights (diffusion, flow) -> periodic, last and best
checkpoints (each resumable) -> a loss-curve PNG, metrics.jsonl and summary.json in the output
directory. Ctrl-C, SIGTERM or the time limit stop it between steps: it saves ``last`` and reports.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import random
import tempfile
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
from ..policies.recipes import recipe
from ..policies.registry import make_config, make_policy
from . import distributed
from .ema import WeightAverage
from .frame_cache import build_camera_frames, default_cache_dir
from .frame_table import FrameTable
from .graphed_step import GraphedStep
from .host_batches import host_batches
from .host_memory import PeakMemory
from .loss_plot import write_loss_curve
from .optimizer import load_optimizer_state, make_optimizer, set_lr
from .settings import SCHEDULES, TrainSettings, lr_factor  # noqa: F401 - SCHEDULES, TrainSettings: the API
from .stop_request import StopRequest

STATE_FILE = 'training_state.pt'
WARMUP_STEPS = 10
#: on a CPU device, the decoded table is read into RAM up to this size ('auto'); larger ones stay in the cache
HOST_TABLE_MAX_BYTES = 4 << 30


def pick_device(name: str) -> torch.device:
    if name == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    device = torch.device(name)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError(f'device {name!r} asked for, but torch sees no CUDA GPU; use --device cpu or auto')
    return device


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


def _on(device: torch.device, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def validation_loss(policy: Policy, table: FrameTable, frames: torch.Tensor, batch_size: int,
                    autocast: torch.autocast, max_frames: int) -> float:
    """Mean loss over (a fixed, seeded subset of) the validation frames, with fixed noise: comparable across steps.

    Batches go to the policy's device whatever the table's (a table left on the host feeds a GPU policy).
    """
    cfg = policy.config
    obs_keys, _ = _needed_keys(policy)
    if len(frames) > max_frames:
        pick = torch.randperm(len(frames), generator=torch.Generator().manual_seed(0))[:max_frames]
        frames = frames[pick.to(frames.device)]
    device = policy.device
    generator = torch.Generator(device=device).manual_seed(1234)
    was_training = policy.training
    policy.eval()
    total, count = 0.0, 0
    for i in range(0, len(frames), batch_size):
        idx = frames[i:i + batch_size]
        batch = _on(device, table.batch(idx, obs_keys, cfg.n_obs_steps, cfg.action_key, cfg.horizon))
        with autocast:
            loss, _ = policy.loss(batch, generator=generator)
        total += loss.item() * len(idx)
        count += len(idx)
    policy.train(was_training)
    return total / max(1, count)


def read_training_state(checkpoint: str | Path) -> dict[str, Any]:
    """A checkpoint's training state, unpickled with ``weights_only=True``: tensors and plain containers only,
    never code (a checkpoint someone sent you cannot run anything)."""
    path = Path(checkpoint) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found: resume needs a checkpoint written by fit '
                                f'(checkpoints/last or checkpoints/step_*)')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(f'{path} holds more than tensors and plain values (refused: it could run code when '
                         f'loaded): {str(err).splitlines()[0]}') from None


def _save(policy: Policy, directory: Path, step: int, optimizer, history: dict[str, Any],
          settings: TrainSettings, split: dict[str, list[int]], raw: Policy | None) -> None:
    """``policy`` (the EMA copy when there is one) as the checkpoint; ``raw`` weights go to the training state."""
    save_policy(policy, directory, extra={'step': step, 'val_loss': history['val'][-1][1] if history['val'] else None})
    state = {'step': step, 'optimizer': optimizer.state_dict(), 'history': history,
             'settings': dataclasses.asdict(settings), 'split': split,
             'rng_cpu': torch.get_rng_state(),
             'rng_cuda': torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
    if raw is not None:
        state['model'] = {k: v.detach().cpu() for k, v in raw.state_dict().items()}
    torch.save(state, directory / f'.{STATE_FILE}.tmp')
    (directory / f'.{STATE_FILE}.tmp').replace(directory / STATE_FILE)


def _refuse_other_config(saved: Mapping[str, Any], policy_name: str, overrides: Mapping[str, Any], where: str) -> None:
    """A resumed run keeps its policy config: --set values that differ from the saved config are an error."""
    wanted = make_config(policy_name, overrides).to_dict()
    clashes = [f'{k}={json.dumps(wanted[k])} (the run has {json.dumps(saved.get(k))})'
               for k in overrides if json.dumps(wanted[k]) != json.dumps(saved.get(k))]
    if clashes:
        raise ValueError(f'--resume {where} continues a {policy_name} policy with another config: --set '
                         + '; '.join(clashes) + '. Start a new run (a new --output) to change it')


def _place_table(table: FrameTable, device: torch.device, mode: str) -> tuple[FrameTable, str]:
    """Where batches come from: 'device' (all of it on the GPU, or in RAM on a CPU run) or 'cache' (workers)."""
    size = table.nbytes()
    if device.type == 'cuda':
        fits = size < 0.4 * torch.cuda.mem_get_info(device)[0]
    else:
        fits = size <= HOST_TABLE_MAX_BYTES
    if mode == 'yes' or (mode == 'auto' and fits):
        return table.to(device), 'device'
    return table, 'cache'


def fit(source: FrameSource, policy_name: str | None, settings: TrainSettings,
        policy_overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Train a policy on ``source``; returns a summary (losses, timing, memory, checkpoint paths).

    Under torchrun (WORLD_SIZE > 1) each process trains on its GPU with DDP; rank 0 writes the files.
    """
    ranks, rank_device = distributed.start(settings.device)
    try:
        with PeakMemory() as memory, tempfile.TemporaryDirectory(prefix='robolearn_frames_') as scratch:
            summary = _fit(source, policy_name, settings, dict(policy_overrides or {}), ranks, rank_device, Path(scratch))
        summary['peak_host_memory_gb'] = round(memory.peak_gb(), 3)
        if ranks.main:
            out = Path(summary['output_dir'])
            (out / 'summary.json').write_text(json.dumps(summary, indent=2))
        return summary
    finally:
        if ranks.distributed:
            distributed.stop()


def _fit(source: FrameSource, policy_name: str | None, settings: TrainSettings, overrides: dict[str, Any],
         ranks: distributed.Ranks, rank_device: torch.device | None, scratch: Path) -> dict[str, Any]:
    out = Path(settings.output_dir)
    resume_state = None
    if settings.resume:
        meta = read_checkpoint_config(settings.resume)
        if policy_name and policy_name != meta['policy']:
            raise ValueError(f'--resume {settings.resume} holds a {meta["policy"]} policy, not {policy_name}')
        policy_name = meta['policy']
        resume_state = read_training_state(settings.resume)
        settings = settings.continuing(resume_state['settings'], settings.resume)
        _refuse_other_config(meta['config'], policy_name, overrides, settings.resume)
    if policy_name is None:
        raise ValueError('name a policy (mlp, act, diffusion, flow) or resume from a checkpoint')

    config = make_config(policy_name, overrides)
    settings = settings.resolved(config.train_defaults)
    device = rank_device or pick_device(settings.device)
    torch.manual_seed(settings.seed)
    np.random.seed(settings.seed)
    random.seed(settings.seed)
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True

    if resume_state is not None:
        policy = load_policy(settings.resume, device)  # the EMA weights, when the run keeps an average
        policy.train()
    else:
        policy = make_policy(config, source.features, list(source.camera_keys), source.stats).to(device)
    policy.deployment = deployment_metadata(source, policy.config)  # every checkpoint saved below carries it
    average = WeightAverage(policy, settings.ema_decay) if settings.ema_decay > 0 else None
    if resume_state is not None and 'model' in resume_state:
        policy.load_state_dict(resume_state['model'])  # the raw weights go on training
    eval_policy = average.averaged if average else policy
    obs_keys, keys = _needed_keys(policy)
    cfg = policy.config

    # --- data: decode once (the cache), then on the device where it fits --------------------------------------
    t_load = time.perf_counter()
    cache_dir = (Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()) \
        if getattr(source, 'root', None) is not None else scratch
    cams = list(cfg.camera_keys or [])
    camera_frames = {}
    if cams:
        for turn in ('main', 'others') if ranks.distributed else ('main',):  # rank 0 decodes, the others reuse
            if (turn == 'main') == ranks.main:
                camera_frames = build_camera_frames(source, cams, cfg.loaded_hw, cfg.image_resize, cache_dir,
                                                    settings.workers, settings.progress and ranks.main)
            distributed.barrier(ranks)
    table = FrameTable.from_source(source, keys, workers=0, progress=False, camera_frames=camera_frames)
    cache_bytes = sum(frames.nbytes() for frames in camera_frames.values())
    table, data_path = _place_table(table, device, settings.data_on_device)
    dataset_load_s = time.perf_counter() - t_load
    episodes = sorted(torch.unique(table.episode_index).tolist())
    if resume_state is not None:
        split = resume_state['split']
    else:
        train_eps, val_eps = split_episodes(episodes, settings.val_episodes, settings.seed)
        split = {'train': train_eps, 'val': val_eps}
    train_frames = table.frames_of(split['train'])
    val_frames = table.frames_of(split['val'] or split['train'])

    # --- optimization ----------------------------------------------------------------------------------------
    use_graph = device.type == 'cuda' and not ranks.distributed and settings.cuda_graph != 'off'
    if ranks.distributed and settings.cuda_graph == 'on' and ranks.main:
        # tried on two H200s (DDP constructed on a side stream, 11 eager steps first): the capture did not finish
        print('fit: --cuda-graph on is not supported under torchrun (DDP); the step runs eagerly', flush=True)
    use_bf16 = settings.amp == 'bf16' or (settings.amp == 'auto' and device.type == 'cuda')
    # a captured step must not keep autocast's weight casts between steps (the cache lives outside the graph)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16, cache_enabled=not use_graph)
    optimizer = make_optimizer(policy, settings, device, capturable=use_graph)
    start_step = 0
    history: dict[str, Any] = {'train': [], 'val': [], 'best_val': None}
    if resume_state is not None:
        load_optimizer_state(optimizer, resume_state['optimizer'])
        start_step = resume_state['step']
        history = resume_state['history']
        torch.set_rng_state(resume_state['rng_cpu'])
        if device.type == 'cuda' and resume_state['rng_cuda']:
            torch.cuda.set_rng_state_all(resume_state['rng_cuda'])
    if ranks.distributed:  # one model, different batches on each rank
        torch.manual_seed(settings.seed * 7919 + 104729 * ranks.rank + start_step)
    module = distributed.wrap(policy, ranks, device)
    params = [p for p in policy.parameters() if p.requires_grad]
    loss_sum = torch.zeros((), device=device)
    n_train = len(train_frames)
    batches = None
    if data_path == 'cache':
        loader, _ = host_batches(table, train_frames, obs_keys, cfg.n_obs_steps, cfg.action_key, cfg.horizon,
                                 settings.batch_size, settings.seed * 7919 + ranks.rank * 104729 + start_step,
                                 settings.workers, pin=device.type == 'cuda')
        batches = iter(loader)

    def train_step(batch: Mapping[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
        """One optimizer step; no host sync. ``batch`` None: sample it on the device (resident table)."""
        if batch is None:
            idx = train_frames[torch.randint(n_train, (settings.batch_size,), device=train_frames.device)]
            batch = table.batch(idx, obs_keys, cfg.n_obs_steps, cfg.action_key, cfg.horizon)
        with autocast:
            loss, parts = module(batch)
        loss.backward()
        if settings.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, settings.grad_clip, foreach=device.type == 'cuda' or None)
        optimizer.step()
        loss_sum.add_(loss.detach())
        return parts

    def zero_grad() -> None:
        optimizer.zero_grad(set_to_none=True)

    graphed = GraphedStep(train_step, zero_grad) if use_graph else None

    def run_step(batch: Mapping[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
        nonlocal graphed
        if graphed is not None:
            try:
                return graphed(batch)
            except RuntimeError as err:
                if graphed.graph is not None or settings.cuda_graph == 'on':
                    raise
                print(f'fit: the training step could not be captured as a CUDA graph ({str(err).splitlines()[0]}); '
                      f'running it eagerly (--cuda-graph off skips the attempt)', flush=True)
                graphed = None
                torch.cuda.synchronize(device)
        zero_grad()
        return train_step(None if batch is None else _on(device, batch))

    # --- the loop ---------------------------------------------------------------------------------------------
    if ranks.main:
        out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out / 'checkpoints'
    metrics = (out / 'metrics.jsonl').open('a') if ranks.main else None
    if ranks.main:
        (out / 'settings.json').write_text(json.dumps({
            'policy': cfg.to_dict(), 'policy_name': policy_name, 'train': dataclasses.asdict(settings),
            'split': split, 'world_size': ranks.world_size,
            'deployment': recipe(settings.recipe).deployment if settings.recipe else None}, indent=2))

    def log(record: dict[str, Any]) -> None:
        if metrics is not None:
            metrics.write(json.dumps(record) + '\n')
            metrics.flush()

    def save(name: str, step: int) -> None:
        if ranks.main:
            _save(eval_policy, ckpt_dir / name, step, optimizer, history, settings, split, policy if average else None)

    policy.train()
    bar = tqdm(total=settings.steps, initial=start_step, desc=f'fit {policy_name}', unit='step',
               disable=not (settings.progress and ranks.main), dynamic_ncols=True)
    train_time, trained_steps, time_at_warmup = 0.0, 0, None
    last_log = start_step
    done = start_step
    parts: dict[str, torch.Tensor] = {}
    loop_start = time.perf_counter()  # what is not train_time from here on: validation, checkpoints, plots
    if start_step == 0:  # the loss before training: what "validation loss went down" is measured against
        history['val'].append((0, validation_loss(eval_policy, table, val_frames, settings.batch_size, autocast,
                                                  settings.val_max_frames)))
    with StopRequest(settings.time_limit_s) as stop:
        t0 = time.perf_counter()
        for step in range(start_step, settings.steps):
            set_lr(optimizer, lr_factor(step, settings))
            parts = run_step(next(batches) if batches is not None else None)
            if average is not None:
                average.update(step)
            trained_steps += 1
            done = step + 1
            if trained_steps == WARMUP_STEPS:  # steady-state rate excludes autotuning, capture and allocator warm-up
                if device.type == 'cuda':
                    torch.cuda.synchronize(device)
                time_at_warmup = train_time + time.perf_counter() - t0
            at_log = done % settings.log_every == 0 or done == settings.steps
            # all ranks stop at one step: they compare notes at log steps (a sync there is paid anyway)
            stopping = distributed.any_rank(stop.check() is not None, ranks, device) if (
                at_log or not ranks.distributed) else False
            if at_log or stopping:
                mean = float(distributed.mean_over_ranks(loss_sum, ranks)) / (done - last_log)
                loss_sum.zero_()
                history['train'].append((done, mean))
                log({'step': done, 'loss': mean, 'lr': optimizer.param_groups[0]['peak_lr'] * lr_factor(step, settings),
                     **{k: float(v) for k, v in parts.items()}})
                bar.set_postfix(loss=f'{mean:.4g}')
                bar.update(done - last_log)
                last_log = done
            if stopping:
                break
            if done % settings.val_every == 0 or done == settings.steps:
                train_time += time.perf_counter() - t0
                val = validation_loss(eval_policy, table, val_frames, settings.batch_size, autocast,
                                      settings.val_max_frames)
                history['val'].append((done, val))
                log({'step': done, 'val_loss': val})
                if history['best_val'] is None or val < history['best_val']:
                    history['best_val'] = val
                    save('best', done)
                t0 = time.perf_counter()
            if done % settings.save_every == 0 or done == settings.steps:
                train_time += time.perf_counter() - t0
                save('last', done)
                if done != settings.steps:
                    save(f'step_{done:07d}', done)
                if ranks.main:
                    write_loss_curve(out / 'loss_curve.png', history['train'], history['val'], f'{policy_name}: {out.name}')
                t0 = time.perf_counter()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        train_time += time.perf_counter() - t0
        interrupted = stop.reason
        if interrupted and ranks.main:
            print(f'fit: stopping at step {done} ({interrupted}): saving checkpoints/last', flush=True)
        if interrupted and done > start_step:
            save('last', done)
    bar.close()
    if metrics is not None:
        metrics.close()
    if ranks.main:
        write_loss_curve(out / 'loss_curve.png', history['train'], history['val'], f'{policy_name}: {out.name}')
    paused_s = time.perf_counter() - loop_start - train_time
    first_val = history['val'][0][1] if history['val'] else None
    samples = trained_steps * settings.batch_size * ranks.world_size
    return {
        'policy': policy_name, 'steps': settings.steps, 'steps_done': done, 'interrupted': interrupted,
        'device': str(device), 'world_size': ranks.world_size, 'rank': ranks.rank, 'bf16': use_bf16,
        'cuda_graph': graphed is not None, 'ema_decay': settings.ema_decay,
        'train_episodes': len(split['train']), 'val_episodes': len(split['val']),
        'final_train_loss': history['train'][-1][1] if history['train'] else None,
        'first_val_loss': first_val, 'best_val_loss': history['best_val'],
        'final_val_loss': history['val'][-1][1] if history['val'] else None,
        'samples_per_s': samples / max(train_time, 1e-9),
        'samples_per_s_after_warmup': ((trained_steps - WARMUP_STEPS) * settings.batch_size * ranks.world_size
                                       / max(train_time - time_at_warmup, 1e-9)) if time_at_warmup is not None
                                      and trained_steps > WARMUP_STEPS else None,
        'dataset_load_s': dataset_load_s, 'first_steps_s': time_at_warmup, 'validation_and_saving_s': paused_s,
        'data_on_device': data_path == 'device', 'data_path': data_path, 'cache_dir': str(cache_dir) if cams else None,
        'cache_gb': round(cache_bytes / 1e9, 6), 'image_size': [list(cfg.input_hw(k)) for k in cams],
        'checkpoint': str(ckpt_dir / 'best'), 'last_checkpoint': str(ckpt_dir / 'last'),
        'loss_curve': str(out / 'loss_curve.png'), 'output_dir': str(out),
    }
