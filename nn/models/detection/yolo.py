"""YOLO v1 (Redmon et al. 2016, "You Only Look Once"), small: one network looks at the whole
image once and predicts, for each cell of an S x S grid, B boxes with a confidence each and
one set of class scores.

Network, images (N, 3, H, W) with H = W = ``image_size`` = S * 2**k:

* backbone: k stages that halve the size down to S x S, with ``widths[0], widths[1], ...``
  channels (the last width repeats if there are more stages): the first a stride-2
  ``conv3x3 - BatchNorm - LeakyReLU(0.1)`` (v1's stem is a stride-2 7x7 convolution; at
  64x64 a full-size first layer costs more in BatchNorm, activation and pooling than in
  convolution), the others ``conv3x3 - BN - LeakyReLU - maxpool2x2``
  (``strided_stem=False``: the first one too); then ``extra`` more ``conv3x3 - BN -
  LeakyReLU`` at S x S with ``extra_width`` channels;
* head: ``conv1x1`` to ``B * 5 + K`` channels: per cell and predictor b the raw
  ``(x, y, sqrt_w, sqrt_h, conf)``, then K class scores. A sigmoid maps the five box numbers
  into (0, 1) (v1's output layer is linear; the sigmoid keeps a box in its cell and in the
  image from the first step on). v1's fully-connected layers are replaced by the 1x1
  convolution, so the parameter count does not grow with the image.

Training (``model.train(); model(images, targets)``): the v1 loss of ``yolo_loss`` (``loss_coord``,
``loss_obj``, ``loss_noobj``, ``loss_class``). Inference (``model.eval(); model(images)``):
per image a dict ``{"boxes" (k, 4) xyxy pixels, "scores" (k,), "labels" (k,) int64 1..K}``:
every predictor b of every cell gives K candidates (its box, label c + 1, score
``conf_b * softmax(class scores)_c``, v1's class-specific confidence); candidates with a score
above ``score_thresh`` go through NMS per class (``batched_nms``, IoU > ``nms_thresh``
suppressed) and the ``detections_per_img`` best are returned, by decreasing score.
``predict(images, nms=False)`` gives the candidates before NMS with the indices NMS keeps.

Labels follow torchvision: ``num_classes`` counts the background (shapes: 4 = background +
circle, rectangle, triangle), so the head predicts ``K = num_classes - 1`` class scores.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import Tensor

from ...activation import LeakyReLU
from ...containers import Sequential
from ...conv import Conv2d
from ...module import Module
from ...normalization import BatchNorm2d
from ...pooling import MaxPool2d
from .._init import he_init_
from ..registry import ZooEntry, register
from .nms import batched_nms
from .yolo_loss import CONF_TARGETS, decoded_corners, encode_targets, yolo_loss

__all__ = ["YOLOv1", "decode", "yolo_v1"]

#: the confidence every predictor starts with: most cells hold no object, and starting at
#: 1/2 makes the no-object term dominate the first steps (RetinaNet's prior, Lin et al. 2017)
CONF_PRIOR = 0.05


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> list[Module]:
    return [Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), BatchNorm2d(c_out),
            LeakyReLU(0.1)]


def _stride(image_size: int, grid: int) -> int:
    """``image_size / grid``, a power of two >= 1; a ValueError naming both otherwise."""
    stride = image_size // grid if grid >= 1 else 0
    if grid < 1 or stride * grid != image_size or stride & (stride - 1):
        raise ValueError(f"YOLOv1: image_size {image_size} must be grid {grid} times a power "
                         f"of two (e.g. 64 with grid 8, 448 with grid 7)")
    return stride


class YOLOv1(Module):
    """``YOLOv1(num_classes, grid=8, boxes_per_cell=2, image_size=64, ...)``: see the module
    docstring. The defaults are the zoo's tuned ``yolo`` for 64x64 shapes: 0.25M
    parameters."""

    def __init__(self, num_classes: int, grid: int = 8, boxes_per_cell: int = 2,
                 image_size: int = 64, *, in_channels: int = 3,
                 widths: Sequence[int] = (16, 32, 64), extra: int = 2,
                 extra_width: int = 128, strided_stem: bool = True,
                 lambda_coord: float = 5.0, lambda_noobj: float = 0.5,
                 conf_target: str = "one", score_thresh: float = 0.05,
                 nms_thresh: float = 0.5, detections_per_img: int = 100) -> None:
        super().__init__()
        if num_classes < 2 or boxes_per_cell < 1:
            raise ValueError(f"YOLOv1: need num_classes >= 2 (background + 1) and "
                             f"boxes_per_cell >= 1, got {num_classes} and {boxes_per_cell}")
        if conf_target not in CONF_TARGETS:
            raise ValueError(f"YOLOv1: conf_target must be one of {CONF_TARGETS}, got "
                             f"{conf_target!r}")
        stages = _stride(image_size, grid).bit_length() - 1
        widths = list(widths) or [32]
        layers: list[Module] = []
        c = in_channels
        for s in range(stages):
            w = widths[min(s, len(widths) - 1)]
            # the first stage strides its convolution, as v1's 7x7/2 stem: no full-size maps
            layers += _conv_bn(c, w, 2) if s == 0 and strided_stem else \
                _conv_bn(c, w) + [MaxPool2d(2)]
            c = w
        for _ in range(extra):
            layers += _conv_bn(c, extra_width)
            c = extra_width
        self.backbone = Sequential(*layers)
        self.head = Conv2d(c, boxes_per_cell * 5 + num_classes - 1, 1)
        self.num_classes, self.grid, self.boxes_per_cell = num_classes, grid, boxes_per_cell
        self.image_size = image_size
        self.lambda_coord, self.lambda_noobj = lambda_coord, lambda_noobj
        self.conf_target, self.score_thresh = conf_target, score_thresh
        self.nms_thresh, self.detections_per_img = nms_thresh, detections_per_img
        he_init_(self)
        with tg.no_grad():       # confidences start near CONF_PRIOR, not at sigmoid(0) = 1/2
            bias = self.head.bias.numpy()
            bias[4:boxes_per_cell * 5:5] = np.log(CONF_PRIOR / (1 - CONF_PRIOR))

    # -- the network --------------------------------------------------------------------
    def raw(self, images: Tensor | Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """``(pred (N, S, S, B, 5) in (0, 1), class_logits (N, K, S, S))`` of ``images``
        (N, C, H, W), or a list of (C, H, W) of one size."""
        x = self._stack(images)
        out = self.head(self.backbone(x))
        n, _, s, s2 = out.shape
        b5 = self.boxes_per_cell * 5
        pred = out[:, :b5].permute(0, 2, 3, 1).reshape(n, s, s2, self.boxes_per_cell, 5)
        return pred.sigmoid(), out[:, b5:]

    def _stack(self, images: Tensor | Sequence[Tensor]) -> Tensor:
        if not isinstance(images, Tensor):
            images = tg.stack([im if isinstance(im, Tensor) else tg.tensor(np.asarray(im))
                               for im in images])
        shape = tuple(images.shape)
        if len(shape) != 4 or shape[2:] != (self.image_size, self.image_size):
            raise ValueError(f"YOLOv1: expected images (N, C, {self.image_size}, "
                             f"{self.image_size}) for its {self.grid}x{self.grid} grid, got "
                             f"{shape}")
        return images

    def forward(self, images: Tensor | Sequence[Tensor],
                targets: Sequence[dict] | None = None) -> Any:
        """Training mode: the loss dict (``targets`` needed); eval mode: the detections."""
        if self.training:
            if targets is None:
                raise ValueError("YOLOv1: targets are needed in training mode (call "
                                 "model.eval() to detect)")
            return self.loss(images, targets)
        return [self._select(c, nms=True) for c in self._candidates(self.raw(images))]

    def loss(self, images: Tensor | Sequence[Tensor],
             targets: Sequence[dict]) -> dict[str, Tensor]:
        """The v1 loss terms of ``images`` against ``targets`` (one dict per image with
        ``"boxes"`` (n, 4) xyxy pixels and ``"labels"`` (n,) in 1..K)."""
        x = self._stack(images)
        if len(targets) != x.shape[0]:
            raise ValueError(f"YOLOv1: {x.shape[0]} images but {len(targets)} targets")
        pred, logits = self.raw(x)
        encoded = encode_targets(targets, self.grid, tuple(x.shape[2:]))
        return yolo_loss(pred, logits, encoded, lambda_coord=self.lambda_coord,
                         lambda_noobj=self.lambda_noobj, conf_target=self.conf_target)

    # -- decoding -------------------------------------------------------------------------
    def predict(self, images: Tensor | Sequence[Tensor], nms: bool = True) -> list[dict]:
        """Detections of ``images`` in eval mode and without a graph (the mode is restored).

        ``nms=True``: as ``model.eval(); model(images)``. ``nms=False``: every candidate
        above ``score_thresh`` before NMS, ``{"boxes", "scores", "labels", "keep"}``, where
        ``keep`` (k,) int64 indexes the candidates NMS keeps (the ``nms=True`` result is the
        candidates at ``keep``, in that order).
        """
        was_training = self.training
        self.eval()
        try:
            with tg.no_grad():
                found = self._candidates(self.raw(images))
        finally:
            self.train(was_training)
        return [self._select(c, nms=nms) for c in found]

    def _candidates(self, raw: tuple[Tensor, Tensor]) -> list[dict[str, np.ndarray]]:
        pred, logits = (t.detach().numpy() for t in raw)
        return decode(pred, logits, self.image_size, self.score_thresh)

    def _select(self, c: dict[str, np.ndarray], nms: bool) -> dict[str, Tensor]:
        keep = batched_nms(c["boxes"], c["scores"], c["labels"],
                           self.nms_thresh).numpy()[:self.detections_per_img]
        if nms:
            return {k: Tensor(np.ascontiguousarray(v[keep])) for k, v in c.items()}
        return {**{k: Tensor(v) for k, v in c.items()}, "keep": Tensor(keep)}


def decode(pred: np.ndarray, class_logits: np.ndarray, image_size: int,
           score_thresh: float) -> list[dict[str, np.ndarray]]:
    """Per image, every (box, score, label) candidate scoring above ``score_thresh``.

    ``pred`` (N, S, S, B, 5) ``(x, y, sqrt_w, sqrt_h, conf)`` and ``class_logits``
    (N, K, S, S): predictor b of cell (i, j) and class c give the box ``((j + x) / S,
    (i + y) / S)`` +- ``(sqrt_w^2, sqrt_h^2) / 2`` in pixels of the ``image_size`` square
    (clipped to it), the label c + 1 and the score ``conf * softmax(class_logits)_c``.
    Candidates are in the order (i, j, b, c); ``boxes`` (k, 4) and ``scores`` (k,) in
    ``pred``'s dtype, ``labels`` (k,) int64.
    """
    n = pred.shape[0]
    boxes = np.clip(decoded_corners(pred[..., :4]) * image_size, 0, image_size)
    z = class_logits.transpose(0, 2, 3, 1)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    probs = z / z.sum(axis=-1, keepdims=True)                        # (N, S, S, K)
    scores = pred[..., 4, None] * probs[:, :, :, None, :]            # (N, S, S, B, K)
    k = scores.shape[-1]
    out = []
    for i in range(n):
        flat = scores[i].reshape(-1)
        hit = np.flatnonzero(flat > score_thresh)
        out.append({"boxes": boxes[i].reshape(-1, 4)[hit // k].astype(pred.dtype),
                    "scores": flat[hit].astype(pred.dtype),
                    "labels": (hit % k + 1).astype(np.int64)})
    return out


def yolo_v1(num_classes: int = 4, grid: int = 8, boxes_per_cell: int = 2,
            image_size: int = 64, **kwargs: Any) -> YOLOv1:
    """The zoo's ``"yolo"``: ``YOLOv1`` (keyword arguments as there), defaults for the 64x64
    ``shapes`` set (3 classes + background on an 8 x 8 grid of 8-pixel cells)."""
    return YOLOv1(num_classes, grid, boxes_per_cell, image_size, **kwargs)


class _LossOf(Module):
    """``forward(images)`` = ``model.loss(images, targets)`` on fixed targets: what the zoo's
    gradient checks differentiate (the detections themselves are not differentiable)."""

    def __init__(self, model: YOLOv1, targets: list[dict]) -> None:
        super().__init__()
        self.model, self.targets = model, targets

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        return self.model.loss(images, self.targets)


def _tiny() -> tuple[_LossOf, Tensor]:
    # conf_target "one" (the default): an IoU target would be a constant to the gradient (as
    # in v1) but not to a finite difference, which would see it move with the weights
    model = YOLOv1(3, grid=2, boxes_per_cell=2, image_size=8, widths=(2,), extra=1,
                   extra_width=2, conf_target="one")
    targets = [{"boxes": np.array([[0.5, 1.0, 3.5, 3.0], [4.0, 4.5, 7.5, 8.0]], np.float32),
                "labels": np.array([1, 2])},
               {"boxes": np.array([[2.0, 1.0, 6.0, 7.0]], np.float32), "labels": np.array([2])}]
    return _LossOf(model, targets), tg.rand(2, 3, 8, 8)


register(ZooEntry("yolo", yolo_v1, task="detect", tiny=_tiny,
                  description="YOLO v1 (Redmon et al. 2016), small: conv-BN-LeakyReLU "
                              "backbone, S x S grid, B boxes + class scores per cell"))
