#!/usr/bin/env python3
"""LeRobot's ACT on a robolearn-recorded LeRobot v3.0 dataset: train, offline chunk error, export, unpack.

Runs where lerobot 0.6.x is installed (the GPU machine with the carried wheels of
bench/lerobot_peer/fetch_wheels.sh, or the LeRobot venv of bench/lerobot_peer/README.md). Nothing of
robolearn is imported: this is the LeRobot side of the side-by-side in issue 12.

    train    LeRobot's default ACT recipe through LeRobot's own pieces, as lerobot-train wires them
             (make_train_eval_datasets, make_policy, make_pre_post_processors, the policy's optimizer preset,
             EpisodeAwareSampler, accelerate, update_policy, save_checkpoint): batch 8, AdamW lr 1e-5,
             weight decay 1e-4, grad clip 10, fp32, 4 spawn DataLoader workers, ImageNet stats for the
             cameras, seed 1000. Two departures, both forced: no ImageNet backbone weights (nothing can be
             downloaded; robolearn's ACT starts from scratch too; --backbone-weights names a torchvision
             .pth file to use some), and the held-out episodes of robolearn's fit (--holdout, default: fit's
             10% rule with seed 0) are left out of training. --steps and/or --time-limit-s bound the run.
             Writes OUTPUT/checkpoints/<step>/pretrained_model (LeRobot's save_pretrained layout with
             policy_preprocessor/postprocessor) + training_state, OUTPUT/checkpoints/last, and
             robolearn_deployment.json beside config.json (fps, names, cameras, units: what robolearn's
             policy node needs). Last line: JSON (steps, samples_per_s, final_loss, wall_s, ...).
    offline  On held-out episodes: mean absolute error (dataset units) of the predicted chunk's first k rows
             against the recorded actions (bench/lerobot_peer/chunk_metric.py; the same computation as
             bench/offline_chunk_error.py for a robolearn checkpoint). Last line: JSON.
    export   A checkpoint small enough for the device tool's $OUT (64 MiB, 16 MiB a file): the inference
             weights (the CVAE encoder is left out: ACT uses it only in training) rounded to bf16, byte
             planes split and xz-compressed, with the config and processor files, as <= 15.5 MiB parts.
             With --dataset it also reports the largest change of a predicted chunk (dataset units) that
             the bf16 rounding causes on held-out frames.
    unpack   Parts -> a LeRobot pretrained_model directory again (fp32 model.safetensors; the unused CVAE
             encoder freshly initialised), loadable by LeRobot's from_pretrained and bench/lerobot_peer/server.py.

    python bench/lerobot_act.py train --dataset DS --output /tmp/lr_act --steps 20000 --time-limit-s 420
    python bench/lerobot_act.py offline --checkpoint /tmp/lr_act/checkpoints/last/pretrained_model --dataset DS
    python bench/lerobot_act.py export --checkpoint /tmp/lr_act/checkpoints/last/pretrained_model --out $OUT
    python bench/lerobot_act.py unpack --parts 'DIR/lerobot_act.tar.xz.part*' --out runs/lerobot_act
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import lzma
import math
import os
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / 'lerobot_peer'))
from chunk_metric import DEFAULT_KS, ChunkErrorAccumulator, holdout_episodes, parse_episodes  # noqa: E402

SO_NAMES = ['shoulder_pan.pos', 'shoulder_lift.pos', 'elbow_flex.pos', 'wrist_flex.pos', 'wrist_roll.pos', 'gripper.pos']
DEPLOYMENT_FILE = 'robolearn_deployment.json'
EXPORT_NAME = 'lerobot_act.tar.xz'
WARMUP_STEPS = 10


def log(msg: str) -> None:
    print(f'lerobot_act: {msg}', flush=True)


def offline_env() -> None:
    for key in ('HF_HUB_OFFLINE', 'HF_DATASETS_OFFLINE'):
        os.environ.setdefault(key, '1')
    os.environ.setdefault('WANDB_MODE', 'disabled')


def read_info(root: Path) -> dict:
    info_path = root / 'meta' / 'info.json'
    if not info_path.is_file():
        raise SystemExit(f'{root}: no meta/info.json; point --dataset at a LeRobot v3.0 dataset root')
    return json.loads(info_path.read_text())


def resolve_holdout(spec: str, seed: int, n_episodes: int) -> list[int]:
    """'auto' (robolearn fit's 10% rule, seeded), 'none', a count ('5'), or a list ('3,17,40-44')."""
    episodes = list(range(n_episodes))
    if spec == 'none':
        return []
    if spec == 'auto':
        return holdout_episodes(episodes, -1, seed)
    if spec.isdigit() and ',' not in spec and '-' not in spec:
        return holdout_episodes(episodes, int(spec), seed)
    held = parse_episodes(spec)
    bad = [e for e in held if not 0 <= e < n_episodes]
    if bad:
        raise SystemExit(f'--holdout episodes {bad} do not exist (the dataset has 0..{n_episodes - 1})')
    return sorted(held)


def deployment_metadata(root: Path, info: dict, cameras: list[str]) -> dict:
    """robolearn's deployment entry (robolearn_core.policies.deployment), computed from info.json and stats.json."""
    feats = info['features']
    names = {k: feats[k].get('names') for k in ('observation.state', 'action')}
    stats_path = root / 'meta' / 'stats.json'
    stats = json.loads(stats_path.read_text()) if stats_path.is_file() else {}
    units = None
    if all(n == SO_NAMES for n in names.values()):
        extremes = [abs(float(v)) for k in names for s in ('min', 'max') for v in stats.get(k, {}).get(s, [])]
        if extremes:
            units = 'so_lerobot' if max(extremes) > 2 * math.pi else ('radians' if max(extremes) <= math.pi + 0.5 else None)
    return {'fps': info['fps'], 'robot_type': info.get('robot_type'), 'state_names': names['observation.state'],
            'action_names': names['action'], 'cameras': {k: list(feats[k]['shape'][:2]) for k in cameras},
            'units': units, 'dataset': str(root)}


def parse_sets(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition('=')
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


# --- train ------------------------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> dict:
    offline_env()
    t_start = time.perf_counter()
    import lerobot
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs
    from lerobot.common.train_utils import get_step_checkpoint_dir, save_checkpoint, update_last_checkpoint
    from lerobot.configs.default import DatasetConfig
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.datasets import EpisodeAwareSampler
    from lerobot.datasets.factory import make_train_eval_datasets
    from lerobot.optim.factory import make_optimizer_and_scheduler
    from lerobot.policies import make_policy, make_pre_post_processors
    from lerobot.policies.factory import make_policy_config
    from lerobot.scripts.lerobot_train import update_policy
    from lerobot.utils.logging_utils import AverageMeter, MetricsTracker
    from lerobot.utils.random_utils import set_seed
    from lerobot.utils.utils import cycle

    root = Path(args.dataset).resolve()
    info = read_info(root)
    n_eps = int(info['total_episodes'])
    held = resolve_holdout(args.holdout, args.holdout_seed, n_eps)
    train_eps = [e for e in range(n_eps) if e not in held]
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    overrides = parse_sets(args.set)
    policy_cfg = make_policy_config('act', device=device, push_to_hub=False, use_amp=args.amp,
                                    pretrained_backbone_weights=None, **overrides)
    cfg = TrainPipelineConfig(
        dataset=DatasetConfig(repo_id=f'local/{root.name}', root=str(root), episodes=train_eps, video_backend='pyav'),
        policy=policy_cfg, output_dir=Path(args.output), steps=args.steps, seed=args.seed,
        batch_size=args.batch_size, num_workers=args.workers, log_freq=args.log_every,
        save_freq=args.save_every, env_eval_freq=0)
    argv, sys.argv = sys.argv, sys.argv[:1]  # validate() re-reads the CLI for LeRobot's own --policy.path
    try:
        cfg.validate()
    finally:
        sys.argv = argv

    mixed = None
    if cfg.policy.use_amp:  # as lerobot_train: autocast's default dtype for the device
        mixed = {torch.bfloat16: 'bf16', torch.float16: 'fp16'}[torch.get_autocast_dtype(torch.device(device).type)]
    accelerator = Accelerator(step_scheduler_with_optimizer=False, mixed_precision=mixed, cpu=device == 'cpu',
                              kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    set_seed(cfg.seed, accelerator=accelerator)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    if device == 'cpu' and args.threads:
        torch.set_num_threads(args.threads)

    dataset, _ = make_train_eval_datasets(cfg)
    policy = make_policy(cfg=cfg.policy, ds_meta=dataset.meta, rename_map=cfg.rename_map)
    if args.backbone_weights:  # a torchvision resnet .pth, e.g. resnet18-f37072fd.pth (ImageNet), carried by hand
        state = torch.load(args.backbone_weights, map_location='cpu', weights_only=True)
        missing, unexpected = policy.model.backbone.load_state_dict(state, strict=False)
        log(f'backbone weights from {args.backbone_weights}: {len(missing)} missing, {len(unexpected)} unexpected')
    preprocessor, postprocessor = make_pre_post_processors(policy_cfg=cfg.policy, pretrained_path=None,
                                                           dataset_stats=dataset.meta.stats)
    optimizer, lr_scheduler = make_optimizer_and_scheduler(cfg, policy)
    sampler = EpisodeAwareSampler(
        dataset.meta.episodes['dataset_from_index'], dataset.meta.episodes['dataset_to_index'],
        episode_indices_to_use=dataset.episodes, drop_n_last_frames=getattr(cfg.policy, 'drop_n_last_frames', 0),
        shuffle=True, seed=cfg.seed, absolute_to_relative_idx=dataset.absolute_to_relative_idx)
    workers = cfg.num_workers > 0
    loader = torch.utils.data.DataLoader(
        dataset, num_workers=cfg.num_workers, batch_size=cfg.batch_size, shuffle=False, sampler=sampler,
        pin_memory=device.startswith('cuda'), drop_last=False,
        prefetch_factor=cfg.prefetch_factor if workers else None,
        persistent_workers=cfg.persistent_workers and workers,
        multiprocessing_context=cfg.dataloader_multiprocessing_context if workers else None)
    policy, optimizer, loader, lr_scheduler = accelerator.prepare(policy, optimizer, loader, lr_scheduler)
    meters = {'loss': AverageMeter('loss', ':.3f'), 'grad_norm': AverageMeter('grdn', ':.3f'),
              'lr': AverageMeter('lr', ':0.1e'), 'update_s': AverageMeter('updt_s', ':.3f'),
              'dataloading_s': AverageMeter('data_s', ':.3f')}
    if torch.cuda.is_available():  # update_policy records it whenever CUDA is there
        meters['gpu_mem_gb'] = AverageMeter('mem_gb', ':.2f')
    tracker = MetricsTracker(cfg.batch_size, dataset.num_frames, dataset.num_episodes, meters,
                             initial_step=0, accelerator=accelerator)
    params = sum(p.numel() for p in policy.parameters())
    setup_s = time.perf_counter() - t_start
    log(f'lerobot {lerobot.__version__}, ACT {params / 1e6:.1f} M parameters on {device}, {dataset.num_frames} frames '
        f'of {len(train_eps)} episodes (held out: {held}), batch {cfg.batch_size}, {cfg.num_workers} workers, '
        f'setup {setup_s:.1f} s')

    def save(step: int) -> Path:
        ckpt = get_step_checkpoint_dir(cfg.output_dir, cfg.steps, step)
        save_checkpoint(checkpoint_dir=ckpt, step=step, cfg=cfg, policy=accelerator.unwrap_model(policy),
                        optimizer=optimizer, scheduler=lr_scheduler, preprocessor=preprocessor,
                        postprocessor=postprocessor, num_processes=accelerator.num_processes, batch_size=cfg.batch_size)
        update_last_checkpoint(ckpt)
        meta = deployment_metadata(root, info, list(dataset.meta.camera_keys))
        meta.update(train_episodes=train_eps, holdout_episodes=held, step=step)
        (ckpt / 'pretrained_model' / DEPLOYMENT_FILE).write_text(json.dumps(meta, indent=2))
        return ckpt

    it = cycle(loader)
    losses: list[float] = []
    data_s = 0.0
    t_loop = time.perf_counter()
    t_steady = None
    stopped_by = 'steps'
    step = 0
    while step < cfg.steps:
        if args.time_limit_s and time.perf_counter() - t_start > args.time_limit_s:
            stopped_by = 'time_limit'
            break
        if step == WARMUP_STEPS:
            if device.startswith('cuda'):
                torch.cuda.synchronize()
            t_steady, data_s = time.perf_counter(), 0.0
        td = time.perf_counter()
        batch = next(it)
        for key in dataset.meta.camera_keys:
            if key in batch and batch[key].dtype == torch.uint8:
                batch[key] = batch[key].to(dtype=torch.float32) / 255.0
        batch = preprocessor(batch)
        data_s += time.perf_counter() - td
        tracker.dataloading_s = time.perf_counter() - td
        tracker, _ = update_policy(tracker, policy, batch, optimizer, cfg.optimizer.grad_clip_norm,
                                   accelerator=accelerator, lr_scheduler=lr_scheduler)
        losses.append(float(tracker.loss.val))
        step += 1
        tracker.step()
        if args.log_every and step % args.log_every == 0:
            window = losses[-args.log_every:]
            log(f'step {step}: loss {sum(window) / len(window):.4f} ({time.perf_counter() - t_loop:.0f} s)')
        if cfg.save_freq > 0 and step % cfg.save_freq == 0 and step < cfg.steps:
            save(step)
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    t_end = time.perf_counter()
    train_s = t_end - t_loop
    t_save = time.perf_counter()
    ckpt = save(step)
    save_s = time.perf_counter() - t_save
    steady = step - WARMUP_STEPS if t_steady is not None else 0
    tail = losses[-min(len(losses), 50):] or [float('nan')]
    return {
        'framework': 'lerobot', 'lerobot_version': lerobot.__version__, 'torch': torch.__version__, 'policy': 'act',
        'device': torch.cuda.get_device_name(0) if device.startswith('cuda') else 'cpu', 'amp': mixed or 'no',
        'steps': step, 'stopped_by': stopped_by, 'batch_size': cfg.batch_size, 'workers': cfg.num_workers,
        'samples_per_s': round(steady * cfg.batch_size / (t_end - t_steady), 1) if steady > 0 else None,
        'samples_per_s_incl_first_steps': round(step * cfg.batch_size / train_s, 1) if step else None,
        'waiting_for_data_fraction': round(data_s / (t_end - t_steady), 3) if steady > 0 else None,
        'final_loss': round(losses[-1], 5) if losses else None, 'final_loss_mean_last_50': round(sum(tail) / len(tail), 5),
        'wall_s': round(time.perf_counter() - t_start, 1), 'setup_s': round(setup_s, 1), 'train_s': round(train_s, 1),
        'save_s': round(save_s, 1), 'params_m': round(params / 1e6, 2), 'frames': dataset.num_frames,
        'train_episodes': len(train_eps), 'holdout_episodes': held,
        'checkpoint': str(ckpt / 'pretrained_model'), 'config': {k: v for k, v in vars(args).items() if k != 'func'}}


# --- loading a checkpoint (offline, export, the chunk server) -----------------------------------------------------
def load_lerobot_act(checkpoint: str | Path, device: str):
    """(policy, preprocessor, postprocessor, config) from a LeRobot pretrained_model directory, on ``device``."""
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies import make_pre_post_processors
    from lerobot.policies.factory import get_policy_class

    checkpoint = Path(checkpoint)
    cfg = PreTrainedConfig.from_pretrained(checkpoint)
    cfg.device = device
    policy = get_policy_class(cfg.type).from_pretrained(checkpoint, config=cfg)
    policy.eval()
    pre, post = make_pre_post_processors(policy_cfg=cfg, pretrained_path=str(checkpoint),
                                         preprocessor_overrides={'device_processor': {'device': device}})
    return policy, pre, post, cfg


def predict_chunks(policy, pre, post, observation: dict) -> 'object':
    """(B, chunk, action_dim) actions in dataset units for a batch of observations (images float 0..1).

    The postprocessor (unnormalize, to CPU) runs once on the whole chunk: LeRobot's async policy server calls
    it row by row, which gives the same numbers (checked: max difference 0.0 on a 100-step chunk) in 0.07 ms
    instead of 12 ms on this CPU."""
    import torch

    with torch.inference_mode():
        batch = pre(dict(observation))
        chunk = policy.predict_action_chunk(batch)
        if chunk.ndim == 2:
            chunk = chunk.unsqueeze(0)
        return post(chunk).float().cpu()


# --- offline ------------------------------------------------------------------------------------------------------
def held_out_for(args: argparse.Namespace, checkpoint: Path, n_episodes: int) -> list[int]:
    if args.episodes:
        return parse_episodes(args.episodes)
    meta_path = checkpoint / DEPLOYMENT_FILE
    if meta_path.is_file() and json.loads(meta_path.read_text()).get('holdout_episodes'):
        return list(json.loads(meta_path.read_text())['holdout_episodes'])
    return resolve_holdout('auto', args.holdout_seed, n_episodes)


def cmd_offline(args: argparse.Namespace) -> dict:
    offline_env()
    import torch
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    t0 = time.perf_counter()
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    checkpoint = Path(args.checkpoint)
    root = Path(args.dataset).resolve()
    info = read_info(root)
    episodes = held_out_for(args, checkpoint, int(info['total_episodes']))
    policy, pre, post, cfg = load_lerobot_act(checkpoint, device)
    horizon = cfg.chunk_size
    fps = info['fps']
    ds = LeRobotDataset(f'local/{root.name}', root=root, episodes=episodes, video_backend='pyav',
                        delta_timestamps={'action': [i / fps for i in range(horizon)]})
    indices = list(range(0, len(ds), args.stride))
    if args.max_frames:
        indices = indices[:args.max_frames]
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(ds, indices), batch_size=args.batch_size,
                                         num_workers=args.workers, shuffle=False)
    acc = ChunkErrorAccumulator(tuple(args.k), info['features']['action'].get('names'))
    cams = [k for k in cfg.image_features]
    for item in loader:
        obs = {'observation.state': item['observation.state']}
        for key in cams:
            obs[key] = item[key].float() / 255.0 if item[key].dtype == torch.uint8 else item[key]
        chunks = predict_chunks(policy, pre, post, obs).numpy()
        for b in range(chunks.shape[0]):
            acc.add(chunks[b], item['action'][b].numpy(), ~item['action_is_pad'][b].numpy())
    return {'framework': 'lerobot', 'checkpoint': str(checkpoint), 'dataset': str(root), 'episodes': episodes,
            'stride': args.stride, **acc.result(), 'device': device, 'wall_s': round(time.perf_counter() - t0, 1)}


# --- export / unpack ----------------------------------------------------------------------------------------------
def inference_state(state: dict) -> dict:
    """The weights ACT uses at inference: everything but the CVAE encoder (used only when training)."""
    return {k: v for k, v in state.items() if not k.startswith('model.vae_encoder')}


def pack_weights(state: dict) -> tuple[dict, bytes, bytes]:
    """bf16 weights as two byte planes (high bytes: sign+exponent, compress well; low bytes: mantissa) + an index."""
    import numpy as np
    import torch

    index, his, los, offset = {}, [], [], 0
    for name, tensor in state.items():
        if tensor.is_floating_point():
            raw = tensor.detach().to(torch.bfloat16).contiguous().view(torch.int16).cpu().numpy().view(np.uint16).ravel()
            his.append((raw >> 8).astype(np.uint8))
            los.append((raw & 0xFF).astype(np.uint8))
            index[name] = {'shape': list(tensor.shape), 'dtype': 'bfloat16', 'offset': offset, 'count': raw.size}
            offset += raw.size
        else:
            index[name] = {'shape': list(tensor.shape), 'dtype': str(tensor.dtype).replace('torch.', ''),
                           'values': tensor.cpu().reshape(-1).tolist()}
    return index, np.concatenate(his).tobytes(), np.concatenate(los).tobytes()


def unpack_weights(index: dict, hi: bytes, lo: bytes) -> dict:
    import numpy as np
    import torch

    hi_a, lo_a = np.frombuffer(hi, np.uint8), np.frombuffer(lo, np.uint8)
    out = {}
    for name, e in index.items():
        if e['dtype'] == 'bfloat16':
            s = slice(e['offset'], e['offset'] + e['count'])
            raw = (hi_a[s].astype(np.uint16) << 8) | lo_a[s].astype(np.uint16)
            out[name] = torch.from_numpy(raw.view(np.int16).copy()).view(torch.bfloat16).float().reshape(e['shape'])
        else:
            out[name] = torch.tensor(e['values'], dtype=getattr(torch, e['dtype'])).reshape(e['shape'])
    return out


def cmd_export(args: argparse.Namespace) -> dict:
    offline_env()
    import torch
    from safetensors.torch import load_file

    t0 = time.perf_counter()
    checkpoint = Path(args.checkpoint).resolve()
    state = load_file(str(checkpoint / 'model.safetensors'))
    kept = state if args.keep_vae else inference_state(state)
    index, hi, lo = pack_weights(kept)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        def add(name: str, data: bytes) -> None:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
        for f in sorted(checkpoint.iterdir()):
            if f.is_file() and f.name != 'model.safetensors':
                add(f.name, f.read_bytes())
        add('weights_index.json', json.dumps({'weights': index, 'source': str(checkpoint),
                                              'dropped': sorted(set(state) - set(kept))}).encode())
        add('weights_hi.bin', hi)
        add('weights_lo.bin', lo)
    packed = lzma.compress(buf.getvalue(), preset=args.preset)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    part_bytes = int(args.part_mib * 2 ** 20)
    parts = []
    for i in range(0, len(packed), part_bytes):
        path = out / f'{args.name}.part{i // part_bytes:02d}'
        path.write_bytes(packed[i:i + part_bytes])
        parts.append(path.name)
    result = {'export': parts, 'bytes': len(packed), 'mib': round(len(packed) / 2 ** 20, 2),
              'params_kept_m': round(sum(v.numel() for v in kept.values()) / 1e6, 2),
              'params_all_m': round(sum(v.numel() for v in state.values()) / 1e6, 2), 'wall_s': 0.0}
    if args.dataset:  # what the bf16 rounding does to the chunks, on held-out frames
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
        policy, pre, post, cfg = load_lerobot_act(checkpoint, device)
        root = Path(args.dataset).resolve()
        info = read_info(root)
        eps = held_out_for(argparse.Namespace(episodes=None, holdout_seed=0), checkpoint, int(info['total_episodes']))
        ds = LeRobotDataset(f'local/{root.name}', root=root, episodes=eps[:1] or None, video_backend='pyav')
        items = [ds[i] for i in range(0, len(ds), max(1, len(ds) // 16))][:16]
        obs = {'observation.state': torch.stack([it['observation.state'] for it in items])}
        for key in cfg.image_features:
            obs[key] = torch.stack([it[key] for it in items])
        ref = predict_chunks(policy, pre, post, obs)
        rounded = {**state, **unpack_weights(index, hi, lo)}
        policy.load_state_dict({k: v.to(device) for k, v in rounded.items()})
        new = predict_chunks(policy, pre, post, obs)
        result['bf16_chunk_max_abs_diff'] = round(float((new - ref).abs().max()), 5)
        result['bf16_chunk_mean_abs_diff'] = round(float((new - ref).abs().mean()), 6)
    result['wall_s'] = round(time.perf_counter() - t0, 1)
    return result


def cmd_unpack(args: argparse.Namespace) -> dict:
    offline_env()
    import torch
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class
    from safetensors.torch import save_file

    parts = sorted(glob.glob(args.parts))
    if not parts:
        raise SystemExit(f'no files match {args.parts}')
    raw = lzma.decompress(b''.join(Path(p).read_bytes() for p in parts))
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            tar.extractall(tmp, filter='data')
        tmp = Path(tmp)
        index = json.loads((tmp / 'weights_index.json').read_text())
        weights = unpack_weights(index['weights'], (tmp / 'weights_hi.bin').read_bytes(), (tmp / 'weights_lo.bin').read_bytes())
        cfg = PreTrainedConfig.from_pretrained(tmp)
        cfg.device = 'cpu'
        torch.manual_seed(0)
        fresh = get_policy_class(cfg.type)(cfg).state_dict()  # supplies the CVAE encoder that export left out
        missing = sorted(set(fresh) - set(weights))
        if any(not k.startswith('model.vae_encoder') for k in missing):
            raise SystemExit(f'export lacks weights other than the CVAE encoder: {missing[:5]}')
        full = {k: (weights[k] if k in weights else v).float().contiguous() if v.is_floating_point() else
                (weights.get(k, v)).contiguous() for k, v in fresh.items()}
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for f in tmp.iterdir():
            if f.name not in ('weights_index.json', 'weights_hi.bin', 'weights_lo.bin'):
                shutil.copy2(f, out / f.name)
        save_file(full, str(out / 'model.safetensors'), metadata={'format': 'pt'})
        dep = out / DEPLOYMENT_FILE
        if dep.is_file():
            meta = json.loads(dep.read_text())
            meta['exported'] = {'weights': 'bf16-rounded', 'reinitialised_unused': 'model.vae_encoder* (training only)'}
            dep.write_text(json.dumps(meta, indent=2))
    return {'unpacked': str(out), 'parts': len(parts), 'reinitialised': len(missing)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='cmd', required=True)
    t = sub.add_parser('train', help="LeRobot's ACT recipe on a dataset")
    t.add_argument('--dataset', required=True, help='LeRobot v3.0 dataset root (the folder with meta/)')
    t.add_argument('--output', required=True, help='output directory (must not exist, as lerobot-train)')
    t.add_argument('--steps', type=int, default=100_000, help="training steps (LeRobot's default 100000)")
    t.add_argument('--time-limit-s', type=float, default=0.0, help='stop and save after this much wall time (0: none)')
    t.add_argument('--batch-size', type=int, default=8, help="LeRobot's default 8")
    t.add_argument('--workers', type=int, default=4, help="DataLoader workers (LeRobot's default 4)")
    t.add_argument('--device', default=None, help='cuda or cpu (default: cuda if there is one)')
    t.add_argument('--seed', type=int, default=1000, help="LeRobot's default 1000")
    t.add_argument('--amp', action='store_true', help='mixed precision (policy.use_amp; off in LeRobot by default)')
    t.add_argument('--holdout', default='auto', help="episodes left out of training: auto (robolearn fit's 10%% rule), "
                   "none, a count, or a list '3,17,40-44'")
    t.add_argument('--holdout-seed', type=int, default=0, help="seed of the auto rule (fit's --seed, default 0)")
    t.add_argument('--save-every', type=int, default=0, help='also save every N steps (0: only the last)')
    t.add_argument('--log-every', type=int, default=100)
    t.add_argument('--threads', type=int, default=0, help='CPU: torch threads (0: torch default)')
    t.add_argument('--backbone-weights', default=None, help='torchvision ResNet-18 .pth to start the backbone from')
    t.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                   help='ACT config override, e.g. --set dim_model=64 (JSON values)')
    o = sub.add_parser('offline', help='chunk error on held-out episodes')
    o.add_argument('--checkpoint', required=True, help='a pretrained_model directory')
    o.add_argument('--dataset', required=True)
    o.add_argument('--episodes', default=None, help="episodes ('3,17,40-44'; default: the checkpoint's held-out ones)")
    o.add_argument('--holdout-seed', type=int, default=0)
    o.add_argument('--k', type=int, nargs='+', default=list(DEFAULT_KS), help='first k rows of each chunk')
    o.add_argument('--stride', type=int, default=1, help='every n-th frame')
    o.add_argument('--max-frames', type=int, default=0)
    o.add_argument('--batch-size', type=int, default=32)
    o.add_argument('--workers', type=int, default=2)
    o.add_argument('--device', default=None)
    e = sub.add_parser('export', help='pack a checkpoint into <= 15.5 MiB parts (bf16 inference weights, xz)')
    e.add_argument('--checkpoint', required=True)
    e.add_argument('--out', required=True)
    e.add_argument('--name', default=EXPORT_NAME)
    e.add_argument('--part-mib', type=float, default=15.5)
    e.add_argument('--preset', type=int, default=6, help='xz preset')
    e.add_argument('--keep-vae', action='store_true', help='keep the CVAE encoder (training-only) weights too')
    e.add_argument('--dataset', default=None, help='measure what bf16 rounding changes in chunks on held-out frames')
    e.add_argument('--device', default=None)
    u = sub.add_parser('unpack', help='export parts -> a LeRobot pretrained_model directory')
    u.add_argument('--parts', required=True, help="glob of the parts, quoted: 'DIR/lerobot_act.tar.xz.part*'")
    u.add_argument('--out', required=True)
    args = parser.parse_args()
    result = {'train': cmd_train, 'offline': cmd_offline, 'export': cmd_export, 'unpack': cmd_unpack}[args.cmd](args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
