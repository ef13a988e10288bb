"""`fit`: train a policy on a LeRobot v3 dataset (or a built-in synthetic one), on CPU, a GPU or several.

Writes into --output: checkpoints/{best,last,step_*}/ (load with robolearn_core.policies.load_policy,
resume with --resume), loss_curve.png, metrics.jsonl, settings.json, summary.json; prints the JSON summary
last. Ctrl-C, SIGTERM or --time-limit stop it between steps: it saves checkpoints/last and reports.
Several GPUs: torchrun --nproc-per-node N $(which fit) ... (PyTorch DDP; --batch-size is per GPU).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import Any

from robolearn_core.policies.recipes import RECIPES, recipe
from robolearn_core.policies.registry import POLICIES

SYNTHETIC = ('two_path', 'rotating_arm')
#: exit status of a run stopped by a signal (the shell's 128 + signal number); a time limit exits 0
STOPPED_EXIT = {'SIGINT': 130, 'SIGTERM': 143}


def _defaults_table() -> str:
    rows = []
    for name, (config_cls, _) in POLICIES.items():
        d = config_cls.train_defaults
        extra = ''.join(f', {k} {v}' for k, v in d.items() if k in ('adam_betas', 'ema_decay'))
        rows.append(f'  {name:<10} steps {d["steps"]}, batch {d["batch_size"]}, lr {d["lr"]:g}, '
                    f'weight decay {d["weight_decay"]:g}, warmup {d["warmup_steps"]}, {d["schedule"]}{extra}')
    return '\n'.join(rows)


def _recipes_table() -> str:
    return '\n'.join(f'  {name:<21} {r.policy}: {r.source}' for name, r in RECIPES.items())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='fit', formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__,
        epilog='per-policy defaults (used where an option is not given):\n' + _defaults_table() +
               '\n\nrecipes (--recipe; docs/policies.md lists their values):\n' + _recipes_table() +
               '\n\nexamples:\n  fit --dataset ~/data/pick --policy act --output runs/act1\n'
               '  fit --dataset ~/data/pick --recipe diffusion-paper --image-size 240x320 --output runs/dp1\n'
               '  fit --dataset ~/data/pick --policy diffusion --set down_dims=[128,256,512] --steps 20000\n'
               '  fit --resume runs/act1/checkpoints/last --steps 80000 --output runs/act1\n'
               '  torchrun --nproc-per-node 2 $(which fit) --dataset ~/data/pick --policy diffusion --output runs/d2\n'
               '  fit --synthetic two_path --policy flow --set camera_keys=[] --steps 2000 --output runs/f')
    src = parser.add_argument_group('data')
    src.add_argument('--dataset', metavar='DIR', help='LeRobot v3.0 dataset root (meta/, data/, videos/)')
    src.add_argument('--synthetic', choices=SYNTHETIC,
                     help='train on a built-in synthetic dataset instead '
                          '(two_path: 2D bimodal; rotating_arm: 6D state + a camera)')
    src.add_argument('--episodes', metavar='LIST', help='only these episodes of the dataset, e.g. 0,1,2 or 0-9')
    src.add_argument('--val-episodes', type=int, metavar='N',
                     help='held-out episodes for validation (default: 10%%, at least 1 with >= 2 episodes)')
    src.add_argument('--workers', type=int, default=2, metavar='N',
                     help='DataLoader worker processes that decode the dataset into the cache, and that gather '
                          'batches from it when it stays off the GPU (default 2)')
    src.add_argument('--data-on-device', choices=('auto', 'yes', 'no'), default='auto',
                     help='keep the decoded dataset in GPU memory (auto: when it fits in 40%% of free memory; on a '
                          'CPU run: in RAM up to 4 GiB); otherwise workers read batches from the on-disk cache')
    src.add_argument('--cache-dir', metavar='DIR',
                     help='where decoded frames are cached, per dataset and image size (default: $ROBOLEARN_CACHE_DIR '
                          'or ~/.cache/robolearn/frames); reused by later runs, rebuilt for changed episodes')
    pol = parser.add_argument_group('policy')
    pol.add_argument('--policy', choices=list(POLICIES), help='which policy to train (not needed with --resume)')
    pol.add_argument('--recipe', choices=list(RECIPES),
                     help="a paper's recipe: policy config and training values (the options here override them)")
    pol.add_argument('--image-size', metavar='HxW',
                     help='bring every camera to HxW when loading and at inference (stored in the checkpoint), '
                          'e.g. 240x320; default: as recorded')
    pol.add_argument('--image-resize', choices=('resize', 'crop'),
                     help='how frames reach --image-size: resize (bilinear, antialiased; default) or a centre crop')
    pol.add_argument('--pretrained-backbone', metavar='FILE|imagenet',
                     help='start the ResNet-18 from a torchvision-format weights file (or ImageNet weights, fetched '
                          'into the torch hub cache when online), with frozen BatchNorm as in ACT')
    pol.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                     help='override a policy config field (JSON values), e.g. horizon=50, camera_keys=[], '
                          'kl_weight=10, crop_ratio=0.9, color_jitter=0.2, num_inference_steps=10; repeatable')
    opt = parser.add_argument_group('optimization')
    opt.add_argument('--steps', type=int, help='total optimizer steps (with --resume: the new total)')
    opt.add_argument('--batch-size', type=int, help='samples per step')
    opt.add_argument('--lr', type=float, help='peak learning rate (AdamW)')
    opt.add_argument('--schedule', choices=('cosine', 'linear', 'constant'), help='learning-rate decay after warmup')
    opt.add_argument('--warmup-steps', type=int, help='linear learning-rate warmup steps')
    opt.add_argument('--weight-decay', type=float, help='AdamW weight decay (not on biases and norms)')
    opt.add_argument('--grad-clip', type=float, help='clip the gradient norm to this (0: off)')
    opt.add_argument('--backbone-lr', type=float, help="the vision backbone's peak learning rate (default: --lr)")
    opt.add_argument('--adam-betas', metavar='B1,B2', help='AdamW betas, e.g. 0.95,0.999 (Diffusion Policy)')
    opt.add_argument('--ema', type=float, metavar='DECAY',
                     help='keep an EMA of the weights with this largest decay (0: off); checkpoints hold the EMA')
    opt.add_argument('--seed', type=int, help='seed of weights, batches, noise and the validation split (default 0)')
    run = parser.add_argument_group('run')
    run.add_argument('--device', default='auto', help="'auto' (CUDA if available, else CPU), 'cpu', 'cuda', 'cuda:1'")
    run.add_argument('--amp', choices=('auto', 'bf16', 'off'),
                     help='bf16 autocast (auto, the default: on for CUDA, off for CPU)')
    run.add_argument('--cuda-graph', choices=('auto', 'on', 'off'), default='auto',
                     help='replay the training step as one CUDA graph (auto: on one GPU, eager if capture fails)')
    run.add_argument('--time-limit', metavar='DURATION',
                     help='stop after this long (e.g. 3600, 90m, 2h), saving checkpoints/last and the summary')
    run.add_argument('--output', metavar='DIR', help='output directory (default runs/<policy>-<time>)')
    run.add_argument('--resume', metavar='CKPT', help='continue from a checkpoint written by fit (checkpoints/last or step_*)')
    run.add_argument('--val-every', type=int, default=1000, metavar='N', help='validate (and keep the best) every N steps')
    run.add_argument('--val-frames', type=int, default=2048, metavar='N',
                     help='validate on (a fixed, seeded choice of) at most N held-out frames (default 2048)')
    run.add_argument('--save-every', type=int, default=5000, metavar='N', help='write checkpoints/step_N and last every N steps')
    run.add_argument('--log-every', type=int, default=50, metavar='N', help='log the training loss every N steps')
    run.add_argument('--no-progress', action='store_true', help='no progress bar (logs and summary only)')
    return parser


def parse_episodes(text: str | None) -> list[int] | None:
    if not text:
        return None
    out: list[int] = []
    for part in text.split(','):
        if '-' in part:
            lo, hi = part.split('-')
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def parse_overrides(items: list[str], option: str = 'fit: --set') -> dict[str, Any]:
    """KEY=VALUE items (repeated ``option``) as a dict of strings; config.with_overrides parses the values."""
    overrides = {}
    for item in items:
        if '=' not in item:
            raise SystemExit(f'{option} {item!r}: expected KEY=VALUE')
        key, value = item.split('=', 1)
        overrides[key.strip()] = value
    return overrides


def open_dataset(args: argparse.Namespace):
    """The FrameSource to train on: the on-disk reader, or a synthetic dataset."""
    episodes = parse_episodes(args.episodes)
    if args.synthetic:
        from robolearn_core.dataset import synthetic
        source = synthetic.two_path_dataset() if args.synthetic == 'two_path' else synthetic.rotating_arm_dataset()
        if episodes is not None:
            source = source.subset(episodes)
        return source
    from robolearn_core.dataset.reader import DatasetReader
    # no decoded cache in the reader: fit decodes every frame once into its own on-disk cache (frame_cache)
    return DatasetReader(args.dataset, episodes=episodes)


def parse_duration(text: str | None) -> float | None:
    """'3600', '90s', '90m', '2h', '1.5h' -> seconds."""
    if not text:
        return None
    match = re.fullmatch(r'\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*', text)
    if not match:
        raise SystemExit(f'fit: --time-limit {text!r}: expected seconds or a number with s, m or h (e.g. 90m)')
    return float(match.group(1)) * {'': 1, 's': 1, 'm': 60, 'h': 3600}[match.group(2)]


def parse_image_size(text: str | None) -> list[int] | None:
    if not text:
        return None
    match = re.fullmatch(r'\s*(\d+)\s*[xX,]\s*(\d+)\s*', text)
    if not match:
        raise SystemExit(f'fit: --image-size {text!r}: expected HEIGHTxWIDTH, e.g. 240x320')
    return [int(match.group(1)), int(match.group(2))]


def policy_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Config fields from the recipe, then the image and backbone options, then --set (each wins over the one before)."""
    overrides: dict[str, Any] = dict(recipe(args.recipe).config) if args.recipe else {}
    sets = parse_overrides(args.set)
    if args.image_size:
        overrides['image_size'] = parse_image_size(args.image_size)
    if args.image_resize:
        overrides['image_resize'] = args.image_resize
    if args.pretrained_backbone:
        overrides['pretrained_backbone'] = args.pretrained_backbone
        if 'vision_norm' not in sets:
            overrides['vision_norm'] = 'frozen_batch'  # ACT's: small batches cannot re-estimate BatchNorm statistics
    overrides.update(sets)
    return overrides


def train_settings(args: argparse.Namespace, output: str):
    from robolearn_core.training.trainer import TrainSettings

    given = {'steps': args.steps, 'batch_size': args.batch_size, 'lr': args.lr, 'backbone_lr': args.backbone_lr,
             'weight_decay': args.weight_decay, 'warmup_steps': args.warmup_steps, 'schedule': args.schedule,
             'grad_clip': args.grad_clip, 'ema_decay': args.ema,
             'adam_betas': tuple(float(b) for b in args.adam_betas.split(',')) if args.adam_betas else None}
    if args.recipe:  # the recipe's training values where the command line gives none
        given = {k: recipe(args.recipe).train.get(k) if v is None else v for k, v in given.items()}
    return TrainSettings(
        output_dir=output, **given, device=args.device, amp=args.amp, workers=args.workers, seed=args.seed,
        val_episodes=args.val_episodes, val_every=args.val_every, val_max_frames=args.val_frames,
        save_every=args.save_every,
        log_every=args.log_every, resume=args.resume, data_on_device=args.data_on_device, cache_dir=args.cache_dir,
        cuda_graph=args.cuda_graph, time_limit_s=parse_duration(args.time_limit), recipe=args.recipe,
        progress=not args.no_progress)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if bool(args.dataset) == bool(args.synthetic) and not (args.resume and (args.dataset or args.synthetic)):
        raise SystemExit('fit: give exactly one of --dataset DIR or --synthetic NAME')
    if args.recipe and args.policy and args.policy != recipe(args.recipe).policy:
        raise SystemExit(f'fit: --recipe {args.recipe} trains {recipe(args.recipe).policy}, not --policy {args.policy}')
    policy = args.policy or (recipe(args.recipe).policy if args.recipe else None)
    if not policy and not args.resume:
        raise SystemExit('fit: give --policy (mlp, act, diffusion, flow), --recipe NAME or --resume CKPT')
    from robolearn_core.training.trainer import fit

    output = args.output or f'runs/{policy or "resume"}-{time.strftime("%Y%m%d-%H%M%S")}'
    try:
        settings = train_settings(args, output)
        source = open_dataset(args)
        summary = fit(source, policy, settings, policy_overrides(args))
    except (ValueError, FileNotFoundError, KeyError, RuntimeError) as err:
        print(f'fit: {err}', file=sys.stderr)
        return 2
    if summary.get('world_size', 1) == 1 or summary.get('rank', 0) == 0:
        print(json.dumps(summary), flush=True)
    return STOPPED_EXIT.get(summary.get('interrupted'), 0)


if __name__ == '__main__':
    sys.exit(main())
