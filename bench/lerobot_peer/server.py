#!/usr/bin/env python3
"""A LeRobot ACT checkpoint serving action chunks over a Unix socket (runs in the LeRobot environment).

    /work/lerobot-venv/bin/python bench/lerobot_peer/server.py --checkpoint DIR --socket /tmp/lerobot_act.sock

DIR is a LeRobot pretrained_model directory (config.json, model.safetensors, policy_preprocessor*.json,
policy_postprocessor*.json), as bench/lerobot_act.py train writes it or unpack rebuilds it. The policy is
loaded with its own processors (normalization from the training data) exactly as LeRobot's
async-inference policy server does, and each request is answered with LeRobot's chunk
(``predict_action_chunk``, unnormalized step by step by the postprocessor) in dataset units.
The wire format is protocol.py. The observation comes in dataset units (state) and as uint8 (3, H, W)
images, as robolearn's DeployedPolicy prepares it; images are scaled to 0..1 here, as LeRobot's training
loop and its record/eval code do.

Usually started by backend.LeRobotPeerPolicy (robolearn's side); it exits when its parent process does,
on SIGINT/SIGTERM, or with --once after the first client leaves.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
import protocol  # noqa: E402
from lerobot_act import DEPLOYMENT_FILE, load_lerobot_act, offline_env, predict_chunks  # noqa: E402


class ChunkServer:
    def __init__(self, checkpoint: str, device: str, threads: int) -> None:
        import torch

        if device == 'cpu' and threads > 0:
            torch.set_num_threads(threads)
        self.torch = torch
        self.checkpoint = Path(checkpoint)
        self.policy, self.pre, self.post, self.cfg = load_lerobot_act(checkpoint, device)
        dep = self.checkpoint / DEPLOYMENT_FILE
        import lerobot

        self.info = {
            'framework': 'lerobot', 'lerobot_version': lerobot.__version__, 'type': self.cfg.type,
            'chunk_size': self.cfg.chunk_size, 'n_action_steps': self.cfg.n_action_steps,
            'n_obs_steps': self.cfg.n_obs_steps,
            'image_features': {k: list(v.shape) for k, v in self.cfg.image_features.items()},
            'state_dim': self.cfg.robot_state_feature.shape[0] if self.cfg.robot_state_feature else 0,
            'action_dim': self.cfg.action_feature.shape[0],
            'deployment': json.loads(dep.read_text()) if dep.is_file() else None,
            'device': device, 'threads': torch.get_num_threads(), 'checkpoint': str(self.checkpoint),
        }

    def predict(self, header: dict, payload: bytes) -> tuple[dict, bytes]:
        torch = self.torch
        start = time.perf_counter()
        n_state = int(np.prod(header['state'])) * 4
        obs = {'observation.state': torch.from_numpy(np.frombuffer(payload[:n_state], np.float32).copy())[None]}
        offset = n_state
        for key, shape in header['images']:
            n = int(np.prod(shape))
            image = np.frombuffer(payload[offset:offset + n], np.uint8).reshape(shape)
            obs[key] = torch.from_numpy(image.copy())[None].float() / 255.0
            offset += n
        missing = [k for k in self.cfg.image_features if k not in obs]
        if missing:
            raise ValueError(f'observation lacks {missing}')
        chunk = predict_chunks(self.policy, self.pre, self.post, obs)[0].numpy().astype(np.float32)
        return {'ok': True, 'shape': list(chunk.shape), 'infer_ms': (time.perf_counter() - start) * 1000}, chunk.tobytes()

    def handle(self, header: dict, payload: bytes) -> tuple[dict, bytes]:
        op = header.get('op')
        if op == 'info':
            return {'ok': True, 'info': self.info}, b''
        if op == 'predict':
            return self.predict(header, payload)
        if op == 'reset':
            self.policy.reset()
            return {'ok': True}, b''
        return {'ok': False, 'error': f'unknown op {op!r}'}, b''


def serve(server: ChunkServer, path: str, once: bool) -> None:
    parent = os.getppid()
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    listener.settimeout(0.5)
    print(f'lerobot chunk server: ready on {path} ({server.info["type"]}, chunk {server.info["chunk_size"]}, '
          f'{server.info["device"]}, {server.info["threads"]} threads)', file=sys.stderr, flush=True)
    try:
        while os.getppid() == parent:
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            conn.settimeout(None)
            with conn:
                while True:
                    try:
                        header, payload = protocol.receive(conn)
                    except (ConnectionError, OSError):
                        break
                    try:
                        reply, data = server.handle(header, payload)
                    except Exception as err:  # noqa: BLE001 - the client gets the reason, the server lives on
                        reply, data = {'ok': False, 'error': f'{type(err).__name__}: {err}'}, b''
                    protocol.send(conn, reply, data)
            if once:
                return
    finally:
        listener.close()
        if os.path.exists(path):
            os.unlink(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint', required=True, help='LeRobot pretrained_model directory')
    parser.add_argument('--socket', required=True, help='Unix socket path to listen on')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads (0: torch default)')
    parser.add_argument('--once', action='store_true', help='exit after the first client disconnects')
    args = parser.parse_args()
    offline_env()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))
    serve(ChunkServer(args.checkpoint, args.device, args.threads), args.socket, args.once)
    return 0


if __name__ == '__main__':
    sys.exit(main())
