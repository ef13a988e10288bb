"""The whole training step (batch sampling, forward, backward, clipping, AdamW) replayed as one CUDA graph.

Why: at ACT's batch 8 an eager step costs ~37 ms on an H200 whatever the batch, the time Python takes to
launch a few thousand kernels, with the GPU 18-28% busy. A captured graph launches them all at once.

How (PyTorch's whole-network capture): the first ``warmup`` steps run eagerly on a side stream (real
steps; they also let cuDNN pick its algorithms), then one step is captured with the gradients unset, so
backward writes (not accumulates) fresh gradients on every replay. Everything the step reads between
replays lives in fixed tensors: the parameters, the optimizer's state and its tensor learning rates
(``optimizer.set_lr``), and the batch (sampled inside the graph from a GPU-resident table, or copied into
``static`` buffers from the host). Random numbers (batch indices, noise, dropout, crops) come from the
CUDA generator, which graphs advance per replay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch


class GraphedStep:
    """``step(batch)`` runs ``fn(batch)`` (eagerly for the first ``warmup`` calls, then as a replayed graph).

    ``fn`` must return tensors only and do its own backward and optimizer step; ``batch`` is None when
    ``fn`` samples its own. The returned tensors are the graph's outputs: overwritten by the next replay.
    """

    def __init__(self, fn: Callable[[Mapping[str, torch.Tensor] | None], object], zero_grad: Callable[[], None],
                 warmup: int = 3):
        self.fn, self.zero_grad, self.warmup = fn, zero_grad, warmup
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static: dict[str, torch.Tensor] | None = None
        self.outputs: object = None
        self._side = torch.cuda.Stream()

    def __call__(self, batch: Mapping[str, torch.Tensor] | None) -> object:
        if self.graph is None and self.calls < self.warmup:
            self.calls += 1
            if batch is not None:
                batch = {k: v.to('cuda', non_blocking=True) for k, v in batch.items()}
            self._side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self._side):
                self.zero_grad()
                out = self.fn(batch)
            torch.cuda.current_stream().wait_stream(self._side)
            return out
        if self.graph is None:
            self._capture(batch)
        if batch is not None:
            for key, buffer in self.static.items():
                buffer.copy_(batch[key], non_blocking=True)
        self.graph.replay()
        return self.outputs

    def _capture(self, batch: Mapping[str, torch.Tensor] | None) -> None:
        if batch is not None:
            self.static = {k: torch.empty_like(v, device=torch.cuda.current_device()) for k, v in batch.items()}
        torch.cuda.synchronize()
        self.zero_grad()  # gradients unset: backward in the graph assigns them
        graph = torch.cuda.CUDAGraph()
        # thread_local: the DataLoader's pin-memory thread may call CUDA (pinned allocations) while we capture
        with torch.cuda.graph(graph, capture_error_mode='thread_local'):
            self.outputs = self.fn(self.static)
        self.graph = graph
