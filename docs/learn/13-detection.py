"""Detection and segmentation: IoU, NMS, RoIAlign, YOLO, Faster R-CNN and SOLO.

Run: ``python docs/learn/13-detection.py`` (``TGCS_LEARN_QUICK=1`` for a quick run). Full
training is ``tgcs train --model yolo --data shapes`` (and ``faster_rcnn``, ``solo``).
"""
# %% [markdown]
# # Detection and segmentation
#
# A detector outputs, per image, boxes ``(x1, y1, x2, y2)`` in pixels, a class label and a
# score for each: torchvision's interface, which the zoo's detectors share. Three tools come
# first: IoU to compare boxes, NMS to remove duplicates, RoIAlign to cut a box out of a
# feature map.

# %%
import dataclasses

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import viz
from tinygrad_cs.learn import QUICK, save
from tinygrad_cs.train import fit_detection
from tinygrad_cs.train.detection import evaluate_detector
from tinygrad_cs.train.detection_recipe import default_detection_recipe, prepare_detection
from tinygrad_cs.vision import ops

tg.manual_seed(0)

# %% [markdown]
# ## IoU
#
# Intersection over union: ``area(A and B) / area(A or B)``, 1 for identical boxes, 0 for
# disjoint ones.

# %%
a, b = np.array([10.0, 10, 40, 30]), np.array([20.0, 15, 50, 45])
inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
print(f"IoU by hand {inter / union:.4f}, ops.box_iou "
      f"{ops.box_iou(tg.tensor([a]), tg.tensor([b])).item():.4f}")

# %% [markdown]
# ## RoIAlign's sampling grid
#
# A two-stage detector cuts each proposal out of the feature map as a fixed ``PH x PW`` grid.
# RoIAlign splits the box into ``PH x PW`` bins and averages ``sampling_ratio^2`` bilinear
# samples per bin, at fractional positions (no rounding to the pixel grid, which is what
# RoIPool does and what misaligns masks). With ``aligned=True`` pixel ``i`` has its centre
# at ``i + 0.5``. Bilinear interpolation is exact on a linear function, so on the feature map
# ``f = x + 10 y`` every bin must come out as ``f`` at the bin's centre.

# %%
box = np.array([1.3, 2.1, 6.2, 5.4])
bins, ratio = 2, 2
yy, xx = np.mgrid[0:8, 0:8].astype(np.float32)
feature = tg.tensor((xx + 10 * yy)[None, None])
pooled = ops.roi_align(feature, [tg.tensor([box], dtype=tg.float32)], output_size=bins,
                       spatial_scale=1.0, sampling_ratio=ratio, aligned=True)
bin_w, bin_h = (box[2] - box[0]) / bins, (box[3] - box[1]) / bins
centres_x = box[0] + (np.arange(bins) + 0.5) * bin_w - 0.5  # in pixel-index coordinates
centres_y = box[1] + (np.arange(bins) + 0.5) * bin_h - 0.5
expected = centres_x[None, :] + 10 * centres_y[:, None]
print(f"RoIAlign vs f at the bin centres: max difference "
      f"{np.abs(pooled.numpy()[0, 0] - expected).max():.1e}")

# %%
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.set_xlim(0, 8)
ax.set_ylim(8, 0)
ax.set_xticks(range(9))
ax.set_yticks(range(9))
ax.grid(color="lightgrey")
ax.plot(xx + 0.5, yy + 0.5, ".", color="grey")  # pixel centres, where f is known
ax.add_patch(plt.Rectangle(box[:2], box[2] - box[0], box[3] - box[1], fill=False, lw=2,
                           color="tab:blue", label="RoI"))
for k in range(1, bins):
    ax.axvline(box[0] + k * bin_w, ymin=1 - box[3] / 8, ymax=1 - box[1] / 8, color="tab:blue",
               ls="--")
    ax.axhline(box[1] + k * bin_h, xmin=box[0] / 8, xmax=box[2] / 8, color="tab:blue", ls="--")
steps = (np.arange(bins * ratio) + 0.5) / ratio
ax.plot(*np.meshgrid(box[0] + steps * bin_w, box[1] + steps * bin_h), "o", color="tab:red",
        ms=5)
ax.plot([], [], "o", color="tab:red", label=f"{ratio}x{ratio} samples per bin")
ax.legend(loc="lower right", fontsize=8)
ax.set_title(f"RoIAlign: {bins}x{bins} bins, bilinear samples")
fig.tight_layout()
save(fig, "13-roi-align.png")

# %% [markdown]
# ## A one-stage detector: YOLO on the shapes set
#
# The shapes set: 64x64 images with one to four circles, rectangles and triangles (boxes,
# labels and masks made by code, seeded). YOLO v1 divides the image into an ``S x S`` grid
# (here 8 x 8); each cell predicts boxes with a confidence and class scores, all in one pass.
# ``prepare_detection`` builds what ``tgcs train --model yolo`` trains with (the zoo model, the
# loaders with flips and scale jitter, AdamW and a one-cycle schedule); we shorten the run.

# %%
n_train, n_test = (16, 4) if QUICK else (400, 100)


def train_briefly(name, epochs):
    recipe = dataclasses.replace(default_detection_recipe(name), epochs=epochs)
    run = prepare_detection(recipe, n_train=n_train, n_test=n_test)
    history = fit_detection(run.model, run.train_loader, run.val_loader,
                            optimizer=run.optimizer, scheduler=run.scheduler,
                            scheduler_interval=run.scheduler_interval, epochs=epochs,
                            progress=False)
    print(f"{name}: {epochs} epochs on {n_train} images, held-out box mAP@0.5 "
          f"{history['map_50'][-1]:.3f}")
    return run


yolo = train_briefly("yolo", 1 if QUICK else 4)
names = ["background", *yolo.splits.classes[1:]]
images, targets = next(iter(yolo.val_loader))
images = images[:8]

# %%
yolo.model.eval()
with tg.no_grad():
    found = yolo.model(images)
fig = viz.draw_detections(images, found, names, score_threshold=0.3)
save(fig, "13-yolo.png")
fig = viz.draw_detections(images[:1], found[:1], names, score_threshold=0.3, panel_size=2.4)
save(fig, "13-thumb.png", dpi=50)

# %% [markdown]
# ## Non-maximum suppression
#
# Neighbouring cells and both of a cell's predictors often find the same object. NMS visits
# the boxes from the highest score down and drops every box whose IoU with an already kept
# box of the same class exceeds a threshold (0.5).

# %%
every = yolo.model.predict(images, nms=False)
pick = max(range(len(every)), key=lambda i: len(every[i]["boxes"]) - len(every[i]["keep"]))
candidates = every[pick]
print(f"image {pick}: {len(candidates['boxes'])} candidate boxes before NMS, "
      f"{len(candidates['keep'])} kept")
fig = viz.draw_nms_before_after(images[pick], candidates["boxes"], candidates["scores"],
                                candidates["keep"], labels=candidates["labels"],
                                class_names=names)
save(fig, "13-nms.png")

# %% [markdown]
# ## A two-stage detector: Faster R-CNN
#
# Stage one, the region proposal network, scores anchors of several sizes at every position
# of an FPN feature map (chapter 11) and proposes the best few hundred boxes. Stage two cuts
# each proposal out with RoIAlign and classifies it and refines its box. Two stages are
# slower and more accurate, and a few epochs here only start it.

# %%
rcnn = train_briefly("faster_rcnn", 1 if QUICK else 2)
rcnn.model.eval()
with tg.no_grad():
    found = rcnn.model(images)


def top(detections, k=3):
    """The ``k`` best-scored detections of one image (a short run's scores are still low)."""
    order = np.argsort(-detections["scores"].numpy(), kind="stable")[:k]
    return {key: value.numpy()[order] for key, value in detections.items()}


fig = viz.draw_detections(images, [top(d) for d in found], names)
save(fig, "13-faster-rcnn.png")

# %% [markdown]
# ## Instance masks: SOLO
#
# SOLO ("segmenting objects by locations") is one-stage for masks: an ``S x S`` grid where
# the cell containing an object's centre predicts its class, and a mask branch that predicts
# one full-image mask per grid cell (decoupled into X and Y branches). No boxes, no RoIs;
# Matrix NMS removes duplicate masks.

# %%
solo = train_briefly("solo", 1 if QUICK else 3)
masks_ap = evaluate_detector(solo.model, solo.val_loader, iou_type="segm")[0]
print(f"solo: held-out mask AP@0.5 {masks_ap['map_50']:.3f}")
solo.model.eval()
with tg.no_grad():
    found = solo.model(images)
fig = viz.draw_detections(images, found, names, score_threshold=0.2)
save(fig, "13-solo.png")
