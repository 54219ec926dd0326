"""``BoxCoder``: Faster R-CNN's box regression targets, as torchvision's detection utils.

A box (x1, y1, x2, y2) relative to a reference (proposal or anchor) box with width ``w_a``,
height ``h_a`` and centre ``(x_a, y_a)`` is coded as the deltas, with weights
``(wx, wy, ww, wh)`` (e.g. (10, 10, 5, 5) for Faster R-CNN's box head, (1, 1, 1, 1) for
the RPN):

    dx = wx (x - x_a) / w_a     dy = wy (y - y_a) / h_a
    dw = ww log(w / w_a)        dh = wh log(h / h_a)

where (x, y, w, h) are the box's centre and size (centre = x1 + 0.5 w). ``decode`` inverts
it, clamping dw / ww and dh / wh at ``bbox_xform_clip`` (log(1000 / 16)) so that exp
cannot overflow: ``w = exp(dw / ww) w_a``, ``x = (dx / wx) w_a + x_a``, and the corners
are ``x -/+ 0.5 w``. Built from Tensor ops: decode is differentiable in the deltas.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import tinygrad_cs as tg
from tinygrad_cs.tensor import Tensor

__all__ = ["BoxCoder"]


def _check(op: str, name: str, t: Tensor, codes: bool = False) -> Tensor:
    """``t`` if it is (N, 4) (codes: (N, 4K), K >= 1), else a ValueError naming the op."""
    t = tg.as_tensor(t)
    ok = t.dim() == 2 and (t.shape[1] % 4 == 0 and t.shape[1] > 0 if codes else t.shape[1] == 4)
    if not ok:
        raise ValueError(f"BoxCoder.{op}: {name} must be {'(N, 4K)' if codes else '(N, 4)'}, "
                         f"got shape {tuple(t.shape)}")
    return t


class BoxCoder:
    """Encodes boxes as deltas to reference boxes, and decodes deltas back to boxes."""

    def __init__(self, weights: tuple[float, float, float, float],
                 bbox_xform_clip: float = math.log(1000.0 / 16)) -> None:
        if len(weights) != 4:
            raise ValueError(f"BoxCoder: weights must be 4 numbers (wx, wy, ww, wh), got "
                             f"{weights!r}")
        self.weights = tuple(weights)
        self.bbox_xform_clip = bbox_xform_clip

    def encode(self, reference_boxes: Sequence[Tensor],
               proposals: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """Per image: the deltas (N_i, 4) of ``reference_boxes[i]`` relative to
        ``proposals[i]`` (both (N_i, 4)), as a tuple (torchvision's ``split``)."""
        counts = [len(b) for b in reference_boxes]
        targets = self.encode_single(tg.cat(list(reference_boxes), dim=0),
                                     tg.cat(list(proposals), dim=0))
        return tuple(targets.split(counts, 0))

    def encode_single(self, reference_boxes: Tensor, proposals: Tensor) -> Tensor:
        """Deltas (N, 4) of reference_boxes (N, 4) (the targets) relative to proposals (N, 4)."""
        gt = _check("encode_single", "reference_boxes", reference_boxes)
        ex = _check("encode_single", "proposals", proposals)
        if gt.shape != ex.shape:
            raise ValueError(f"BoxCoder.encode_single: reference_boxes {tuple(gt.shape)} and "
                             f"proposals {tuple(ex.shape)} must have the same shape")
        wx, wy, ww, wh = (float(w) for w in self.weights)
        ex_w, ex_h = ex[:, 2:3] - ex[:, 0:1], ex[:, 3:4] - ex[:, 1:2]
        ex_x, ex_y = ex[:, 0:1] + 0.5 * ex_w, ex[:, 1:2] + 0.5 * ex_h
        gt_w, gt_h = gt[:, 2:3] - gt[:, 0:1], gt[:, 3:4] - gt[:, 1:2]
        gt_x, gt_y = gt[:, 0:1] + 0.5 * gt_w, gt[:, 1:2] + 0.5 * gt_h
        return tg.cat([wx * (gt_x - ex_x) / ex_w, wy * (gt_y - ex_y) / ex_h,
                       ww * tg.log(gt_w / ex_w), wh * tg.log(gt_h / ex_h)], dim=1)

    def decode(self, rel_codes: Tensor, boxes: Sequence[Tensor]) -> Tensor:
        """Boxes (sum N_i, K, 4) from codes (sum N_i, 4K) and the per-image reference
        boxes ``boxes[i]`` (N_i, 4) (torchvision's list form)."""
        if not isinstance(boxes, (list, tuple)):
            raise TypeError(f"BoxCoder.decode: boxes must be a list of (N_i, 4) Tensors, got "
                            f"{type(boxes).__name__}")
        total = sum(len(b) for b in boxes)
        codes = tg.as_tensor(rel_codes).reshape(total, -1)
        return self.decode_single(codes, tg.cat(list(boxes), dim=0)).reshape(total, -1, 4)

    def decode_single(self, rel_codes: Tensor, boxes: Tensor) -> Tensor:
        """Boxes (N, 4K) from codes (N, 4K) (K boxes per reference, e.g. one per class)
        and reference boxes (N, 4); computed in the codes' dtype."""
        codes = _check("decode_single", "rel_codes", rel_codes, codes=True)
        ref = _check("decode_single", "boxes", boxes)
        if len(codes) != len(ref):
            raise ValueError(f"BoxCoder.decode_single: rel_codes {tuple(codes.shape)} and "
                             f"boxes {tuple(ref.shape)} must have the same number of rows")
        ref = ref.to(codes.dtype)
        wx, wy, ww, wh = (float(w) for w in self.weights)
        widths, heights = ref[:, 2:3] - ref[:, 0:1], ref[:, 3:4] - ref[:, 1:2]
        ctr_x, ctr_y = ref[:, 0:1] + 0.5 * widths, ref[:, 1:2] + 0.5 * heights
        dx, dy = codes[:, 0::4] / wx, codes[:, 1::4] / wy
        dw = (codes[:, 2::4] / ww).clamp(max=self.bbox_xform_clip)
        dh = (codes[:, 3::4] / wh).clamp(max=self.bbox_xform_clip)
        x, y = dx * widths + ctr_x, dy * heights + ctr_y
        half_w, half_h = 0.5 * (tg.exp(dw) * widths), 0.5 * (tg.exp(dh) * heights)
        return tg.stack([x - half_w, y - half_h, x + half_w, y + half_h], dim=2).flatten(1)
