"""Replay a policy's whole sampling loop (encoder + every denoising/Euler step) as one CUDA graph.

Why: at batch 1 a 10-step sampler launches thousands of small kernels; on a GPU the launch overhead,
not the arithmetic, sets the latency. A captured graph replays them with one launch. Inputs are
copied into the graph's static buffers; the random noise is redrawn on every replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch


class GraphedSampler:
    def __init__(self, policy, example: Mapping[str, torch.Tensor], autocast_dtype: torch.dtype | None = None,
                 warmup: int = 3):
        if policy.device.type != 'cuda':
            raise ValueError('CUDA graphs need the policy on a CUDA device')
        self.policy = policy
        self.static = {k: v.detach().clone() for k, v in example.items()}
        self.autocast = torch.autocast('cuda', dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), self.autocast:
            for _ in range(warmup):
                policy.sample_actions(self.static)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), self.autocast:
            self.output = policy.sample_actions(self.static)

    def __call__(self, batch: Mapping[str, Any]) -> torch.Tensor:
        for key, buffer in self.static.items():
            buffer.copy_(batch[key], non_blocking=True)
        self.graph.replay()
        return self.output.clone()
