"""The patch-matching and similarity maths on torch tensors, for a template index held on a GPU.

Why: on a GPU the whole per-object cost (a few dense matrix products and argmaxes) is a
millisecond if the templates already live there; copying them per query would cost more
than the maths. Same semantics as the numpy code in scoring.py (tests compare them).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .scoring import MutualMatches, foreground


def mutual_matches_torch(query_patch: np.ndarray, templates: Any, min_sim: float = 0.0,
                         keep_pairs: bool = False) -> MutualMatches:
    """:func:`core.matching.scoring.mutual_matches` for ``templates`` a torch tensor [R, P, D] (any device)."""
    import torch

    r = int(templates.shape[0])
    q_idx = foreground(query_patch)
    empty_i = [np.zeros(0, np.int64) for _ in range(r)]
    if q_idx.size == 0 or r == 0:
        return MutualMatches(np.zeros(r, np.float32), empty_i, list(empty_i), [np.zeros(0, np.float32)] * r)
    m = q_idx.size
    q = torch.from_numpy(np.ascontiguousarray(query_patch[q_idx])).to(templates.device, templates.dtype)
    fg = (templates[..., :8] != 0).any(dim=-1)                                  # [R, P]
    sim = torch.matmul(templates, q.T).float()                                  # [R, P, m]
    sim = sim.masked_fill(~fg[..., None], float("-inf"))
    best_t = sim.argmax(dim=1)                                                  # [R, m]
    best_q = sim.argmax(dim=2)                                                  # [R, P]
    back = best_q.gather(1, best_t)
    s_best = sim.gather(1, best_t[:, None, :])[:, 0, :]
    ok = (back == torch.arange(m, device=sim.device)[None, :]) & (s_best > min_sim)
    score = (torch.where(ok, s_best, torch.zeros_like(s_best)).sum(dim=1) / m).cpu().numpy().astype(np.float32)
    if not keep_pairs:
        return MutualMatches(score, [], [], [])
    ok_n, bt_n, sb_n = ok.cpu().numpy(), best_t.cpu().numpy(), s_best.cpu().numpy()
    return MutualMatches(score, [q_idx[ok_n[i]] for i in range(r)], [bt_n[i][ok_n[i]] for i in range(r)],
                         [sb_n[i][ok_n[i]] for i in range(r)])


def foreground_grid(templates: Any) -> np.ndarray:
    """bool [R, P]: which template patches are foreground (non-zero), from numpy or torch."""
    if isinstance(templates, np.ndarray):
        return np.abs(templates).sum(axis=2) > 0
    return (templates != 0).any(dim=2).cpu().numpy()


class DeviceCopy:
    """The index's features as torch tensors on one device (float16 on CUDA, float32 on CPU)."""

    def __init__(self, glob: np.ndarray, patch: np.ndarray | None, device: str) -> None:
        import torch

        self.device = device
        self.dtype = torch.float16 if device.startswith("cuda") else torch.float32
        self.glob = self._chunked(glob, device)
        self.patch = None if patch is None else self._chunked(patch, device)

    def _chunked(self, arr: np.ndarray, device: str) -> Any:
        """Copy a (memory-mapped) array in chunks so host memory never holds a float32 copy of it all."""
        import torch

        out = torch.empty(tuple(arr.shape), dtype=self.dtype, device=device)
        step = max(1, (256 << 20) // max(1, int(np.prod(arr.shape[1:])) * 2))
        for s in range(0, arr.shape[0], step):
            out[s:s + step] = torch.from_numpy(np.array(arr[s:s + step])).to(device, self.dtype)  # writable copy
        return out

    def global_sims(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        import torch

        idx = torch.from_numpy(np.asarray(rows, dtype=np.int64)).to(self.device)
        q = torch.from_numpy(np.asarray(query, dtype=np.float32)).to(self.device, self.dtype)
        return (self.glob.index_select(0, idx) @ q).float().cpu().numpy()

    def patches(self, rows: np.ndarray) -> Any:
        import torch

        idx = torch.from_numpy(np.asarray(rows, dtype=np.int64)).to(self.device)
        return self.patch.index_select(0, idx)  # type: ignore[union-attr]
