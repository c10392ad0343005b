"""The score terms of retrieval as array maths (no I/O, no library objects).

* global similarity: cosine of the query's global vector with each template view's
  (``TemplateIndex.global_sims``, on the host or the GPU);
* local similarity: mutual nearest neighbours between the query's foreground patches and a
  view's patches — a pair counts only when each is the other's best match (cycle-consistent),
  which rejects the many-to-one matches a repeated texture produces; the score is the summed
  similarity of mutual pairs over the query's patch count, so it rewards coverage too;
* size agreement: how well the asset fits the observed 3D box after the scaling its
  catalogue row allows (ISOTROPIC keeps proportions, RADIAL ties x and y, the anisotropic
  strategies stretch freely) — a shape misfit and a large scale change both lower it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

STRATEGY_CODES = {"ISOTROPIC": 0, "RADIAL": 1, "ALIGNED_ANISOTROPIC": 2, "SORTED_ANISOTROPIC": 3}
FLAT_M = 0.02  # an extent below this is "flat" and its axis takes no part in the fit


def foreground(patch: np.ndarray) -> np.ndarray:
    """Indices of non-zero (foreground) patch vectors of one crop [P, D]."""
    return np.nonzero(np.abs(patch).sum(axis=1) > 0)[0]


@dataclass
class MutualMatches:
    """Mutual nearest-neighbour pairs for a batch of views: per view, query and template patch indices."""

    score: np.ndarray           # [R] summed similarity of mutual pairs / number of query patches
    query_idx: list[np.ndarray]
    template_idx: list[np.ndarray]
    sims: list[np.ndarray]


def mutual_matches(query_patch: np.ndarray, templates: Any, min_sim: float = 0.0,
                   keep_pairs: bool = False) -> MutualMatches:
    """Mutual nearest neighbours of ``query_patch`` [P, D] (background rows zero) against ``templates`` [R, P, D].

    Only foreground patches take part on either side (background rows are exactly zero): one
    matrix product covers the object patches of all R views stacked, background similarities
    are -inf; argmax runs both ways and a pair is kept when it is mutual and its similarity
    exceeds ``min_sim``.
    """
    if not isinstance(templates, np.ndarray) and type(templates).__module__.startswith("torch"):
        from .torch_scoring import mutual_matches_torch

        return mutual_matches_torch(query_patch, templates, min_sim, keep_pairs)
    q_idx = foreground(query_patch)
    r, p, d = templates.shape
    empty_i = [np.zeros(0, np.int64) for _ in range(r)]
    if q_idx.size == 0 or r == 0:
        return MutualMatches(np.zeros(r, np.float32), empty_i, list(empty_i), [np.zeros(0, np.float32)] * r)
    q = np.ascontiguousarray(query_patch[q_idx], dtype=np.float32)                 # [m, D]
    m = q_idx.size
    # A background vector is all zero; its first few components tell (a real one is never exactly 0 in all 8).
    fg = np.any(np.asarray(templates[..., :8]) != 0, axis=-1)                      # [R, P]
    flat = np.nonzero(fg.reshape(-1))[0]
    t = np.asarray(templates).reshape(r * p, d)[flat].astype(np.float32)           # [K, D]
    sim = np.full((r * p, m), -np.inf, dtype=np.float32)
    sim[flat] = t @ q.T                                                             # background stays -inf
    sim = sim.reshape(r, p, m)
    best_t = sim.argmax(axis=1)                                                     # [R, m]: query → template
    best_q = sim.argmax(axis=2)                                                     # [R, P]: template → query
    back = np.take_along_axis(best_q, best_t, axis=1)                               # [R, m]
    s_best = np.take_along_axis(sim, best_t[:, None, :], axis=1)[:, 0, :]           # [R, m]
    ok = (back == np.arange(m)[None, :]) & (s_best > min_sim)                        # -inf never passes
    score = (np.where(ok, s_best, 0.0).sum(axis=1) / float(m)).astype(np.float32)
    qi, ti, si = (list(empty_i), list(empty_i), [np.zeros(0, np.float32)] * r)
    if keep_pairs:
        for i in range(r):
            qi[i], ti[i], si[i] = q_idx[ok[i]], best_t[i][ok[i]], s_best[i][ok[i]]
    return MutualMatches(score, qi, ti, si)


def size_agreement(box_size: np.ndarray, asset_sizes: np.ndarray, strategies: np.ndarray,
                   shape_sigma: float = 0.25, scale_sigma: float = 0.6) -> np.ndarray:
    """Agreement in (0, 1] of an observed box size [3] with asset sizes [n, 3] under their scaling strategies.

    The box's own x may be the asset's x or its y (the box yaw is known only up to 90°), so
    both are tried and the better kept. In log space: fit the scale(s) the strategy allows,
    then penalise the leftover shape misfit (``shape_sigma``) and the fitted scale change
    (``scale_sigma``). Flat axes (below FLAT_M on either side) are left out.
    """
    box = np.asarray(box_size, dtype=np.float64)
    sizes = np.asarray(asset_sizes, dtype=np.float64)
    codes = np.asarray(strategies, dtype=np.int64)
    best = np.zeros(len(sizes), dtype=np.float64)
    for order in ((0, 1, 2), (1, 0, 2)):
        b = box[list(order)][None, :]
        valid = (b > FLAT_M) & (sizes > FLAT_M)
        r = np.where(valid, np.log(np.maximum(b, FLAT_M) / np.maximum(sizes, FLAT_M)), 0.0)   # [n, 3]
        nv = np.maximum(valid.sum(axis=1), 1)
        iso = r.sum(axis=1) / nv
        # RADIAL: one scale for x and y, another for z.
        vxy = valid[:, :2]
        nxy = np.maximum(vxy.sum(axis=1), 1)
        rad_xy = r[:, :2].sum(axis=1) / nxy
        fit = np.where(codes[:, None] == 0, iso[:, None],
                       np.where(codes[:, None] == 1, np.concatenate([np.repeat(rad_xy[:, None], 2, 1), r[:, 2:]], 1), r))
        resid = np.where(valid, r - fit, 0.0)
        shape_err = np.sqrt((resid ** 2).sum(axis=1) / nv)
        scale_change = np.sqrt((np.where(valid, fit, 0.0) ** 2).sum(axis=1) / nv)
        agree = np.exp(-(shape_err / shape_sigma) ** 2 - (scale_change / scale_sigma) ** 2)
        best = np.maximum(best, agree)
    return best.astype(np.float32)


def per_asset_max(values: np.ndarray, row_group: np.ndarray, n_groups: int) -> np.ndarray:
    """Maximum of ``values`` per group (rows → assets); groups without rows get -inf."""
    out = np.full(n_groups, -np.inf, dtype=np.float32)
    np.maximum.at(out, row_group, values.astype(np.float32))
    return out
