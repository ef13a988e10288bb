"""`fit`: train a policy on a LeRobot v3 dataset (or a built-in synthetic one), on CPU or GPU.

Writes into --output: checkpoints/{best,last,step_*}/ (load with robolearn_core.policies.load_policy,
resume with --resume), loss_curve.png, metrics.jsonl, settings.json; prints a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from robolearn_core.policies.registry import POLICIES

SYNTHETIC = ('two_path', 'rotating_arm')


def _defaults_table() -> str:
    rows = []
    for name, (config_cls, _) in POLICIES.items():
        d = config_cls.train_defaults
        rows.append(f'  {name:<10} steps {d["steps"]}, batch {d["batch_size"]}, lr {d["lr"]:g}, '
                    f'weight decay {d["weight_decay"]:g}, warmup {d["warmup_steps"]}, {d["schedule"]}')
    return '\n'.join(rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='fit', formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__,
        epilog='per-policy defaults (used where an option is not given):\n' + _defaults_table() +
               '\n\nexamples:\n  fit --dataset ~/data/pick --policy act --output runs/act1\n'
               '  fit --dataset ~/data/pick --policy diffusion --set down_dims=[128,256,512] --steps 20000\n'
               '  fit --resume runs/act1/checkpoints/last --steps 80000 --output runs/act1\n'
               '  fit --synthetic two_path --policy flow --set camera_keys=[] --steps 2000 --output runs/f')
    src = parser.add_argument_group('data')
    src.add_argument('--dataset', metavar='DIR', help='LeRobot v3.0 dataset root (meta/, data/, videos/)')
    src.add_argument(
        '--synthetic',
        choices=SYNTHETIC,
        help='train on a built-in synthetic dataset instead (two_path: 2D bimodal; rotating_arm: 6D state + a camera)',
    )
    src.add_argument('--episodes', metavar='LIST', help='only these episodes of the dataset, e.g. 0,1,2 or 0-9')
    src.add_argument(
        '--val-episodes',
        type=int,
        default=-1,
        metavar='N',
        help='held-out episodes for validation (default: 10%%, at least 1 with >= 2 episodes)',
    )
    src.add_argument(
        '--workers',
        type=int,
        default=2,
        metavar='N',
        help='DataLoader worker processes that read and decode the dataset (default 2)',
    )
    src.add_argument(
        '--data-on-device',
        choices=('auto', 'yes', 'no'),
        default='auto',
        help='keep the decoded dataset in GPU memory (auto: when it fits in 40%% of free memory)',
    )
    pol = parser.add_argument_group('policy')
    pol.add_argument('--policy', choices=list(POLICIES), help='which policy to train (not needed with --resume)')
    pol.add_argument(
        '--set',
        action='append',
        default=[],
        metavar='KEY=VALUE',
        help='override a policy config field (JSON values), e.g. horizon=50, camera_keys=[], '
        'kl_weight=10, num_inference_steps=10; repeatable',
    )
    opt = parser.add_argument_group('optimization')
    opt.add_argument('--steps', type=int, help='total optimizer steps (with --resume: the new total)')
    opt.add_argument('--batch-size', type=int, help='samples per step')
    opt.add_argument('--lr', type=float, help='peak learning rate (AdamW)')
    opt.add_argument('--schedule', choices=('cosine', 'linear', 'constant'), help='learning-rate decay after warmup')
    opt.add_argument('--warmup-steps', type=int, help='linear learning-rate warmup steps')
    opt.add_argument('--weight-decay', type=float, help='AdamW weight decay (not on biases and norms)')
    opt.add_argument('--grad-clip', type=float, help='clip the gradient norm to this (0: off)')
    opt.add_argument('--seed', type=int, default=0, help='seed of weights, batches, noise and the validation split')
    run = parser.add_argument_group('run')
    run.add_argument('--device', default='auto', help="'auto' (CUDA if available, else CPU), 'cpu', 'cuda', 'cuda:1'")
    run.add_argument(
        '--amp', choices=('auto', 'bf16', 'off'), default='auto', help='bf16 autocast (auto: on for CUDA, off for CPU)'
    )
    run.add_argument('--output', metavar='DIR', help='output directory (default runs/<policy>-<time>)')
    run.add_argument('--resume', metavar='CKPT', help='continue from a checkpoint written by fit (checkpoints/last or step_*)')
    run.add_argument('--val-every', type=int, default=1000, metavar='N', help='validate (and keep the best) every N steps')
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


def parse_overrides(items: list[str]) -> dict[str, Any]:
    overrides = {}
    for item in items:
        if '=' not in item:
            raise SystemExit(f'fit: --set {item!r}: expected KEY=VALUE')
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

    # no decoded cache: fit reads each episode once, whole (FrameTable), and keeps it itself
    return DatasetReader(args.dataset, episodes=episodes)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if bool(args.dataset) == bool(args.synthetic) and not (args.resume and (args.dataset or args.synthetic)):
        raise SystemExit('fit: give exactly one of --dataset DIR or --synthetic NAME')
    if not args.policy and not args.resume:
        raise SystemExit('fit: give --policy (mlp, act, diffusion, flow) or --resume CKPT')
    from robolearn_core.training.trainer import TrainSettings, fit

    output = args.output or f'runs/{args.policy or "resume"}-{time.strftime("%Y%m%d-%H%M%S")}'
    settings = TrainSettings(
        output_dir=output,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps,
        schedule=args.schedule,
        grad_clip=args.grad_clip,
        device=args.device,
        amp=args.amp,
        workers=args.workers,
        seed=args.seed,
        val_episodes=args.val_episodes,
        val_every=args.val_every,
        save_every=args.save_every,
        log_every=args.log_every,
        resume=args.resume,
        data_on_device=args.data_on_device,
        progress=not args.no_progress,
    )
    try:
        source = open_dataset(args)
        summary = fit(source, args.policy, settings, parse_overrides(args.set))
    except (ValueError, FileNotFoundError, KeyError, RuntimeError) as err:
        print(f'fit: {err}', file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
