"""BoxCoder, Matcher and BalancedPositiveNegativeSampler: closed forms, round trips and
hand-worked cases of torchvision's rules."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tinygrad_cs as tg
from tinygrad_cs.testing import gradcheck
from tinygrad_cs.vision.ops import BalancedPositiveNegativeSampler, BoxCoder, Matcher


@st.composite
def boxes(draw, n: int):
    xy = draw(arrays(np.float64, (n, 2), elements=st.floats(-100, 100)))
    wh = draw(arrays(np.float64, (n, 2), elements=st.floats(0.5, 80)))
    return np.concatenate([xy, xy + wh], axis=1)


WEIGHTS = st.sampled_from([(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0), (2.0, 3.0, 0.5, 7.0)])


# -- BoxCoder --------------------------------------------------------------------------------
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(boxes(n), boxes(n))), WEIGHTS)
def test_decode_inverts_encode(pair, weights):
    targets, proposals = pair
    coder = BoxCoder(weights, bbox_xform_clip=math.inf)
    codes = coder.encode_single(tg.tensor(targets), tg.tensor(proposals))
    back = coder.decode_single(codes, tg.tensor(proposals))
    np.testing.assert_allclose(back.numpy(), targets, rtol=1e-9, atol=1e-9)


@given(st.integers(1, 6).flatmap(lambda n: st.tuples(boxes(n), boxes(n))), WEIGHTS)
def test_encode_against_the_closed_form(pair, weights):
    gt, ex = pair
    wx, wy, ww, wh = weights
    ew, eh = ex[:, 2] - ex[:, 0], ex[:, 3] - ex[:, 1]
    gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    want = np.stack([wx * ((gt[:, 0] + gw / 2) - (ex[:, 0] + ew / 2)) / ew,
                     wy * ((gt[:, 1] + gh / 2) - (ex[:, 1] + eh / 2)) / eh,
                     ww * np.log(gw / ew), wh * np.log(gh / eh)], axis=1)
    got = BoxCoder(weights).encode_single(tg.tensor(gt), tg.tensor(ex)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_box_coder_hand_case_clip_and_list_forms():
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
    proposals = tg.tensor(np.array([[0.0, 0, 10, 10], [0, 0, 4, 2]]))
    targets = tg.tensor(np.array([[1.0, 1, 11, 11], [0, 0, 8, 2]]))
    # centre moves by (1, 1) on a 10 x 10 box: 10 * 1/10; widths equal: log 1 = 0
    codes = coder.encode([targets[:1], targets[1:]], [proposals[:1], proposals[1:]])
    assert len(codes) == 2
    np.testing.assert_allclose(codes[0].numpy(), [[1, 1, 0, 0]])
    np.testing.assert_allclose(codes[1].numpy(), [[10 * 2 / 4, 0, 5 * math.log(2), 0]])
    # decode: (N, 4K) codes -> (N, K, 4); dw / ww clamps at log(1000 / 16): width x 62.5
    rel = tg.tensor(np.array([[0.0, 0, 0, 0, 0, 0, 100, 0]]))
    out = coder.decode(rel, [proposals[:1]])
    assert out.shape == (1, 2, 4)
    np.testing.assert_allclose(out.numpy()[0, 0], [0, 0, 10, 10])
    np.testing.assert_allclose(out.numpy()[0, 1], [5 - 312.5, 0, 5 + 312.5, 10])


def test_decode_is_differentiable_in_the_codes():
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
    codes = tg.tensor(np.random.default_rng(0).normal(size=(3, 8)), requires_grad=True)
    ref = tg.tensor(np.array([[0.0, 0, 10, 10], [2, 3, 5, 9], [1, 1, 2, 4]]))
    assert gradcheck(lambda c: coder.decode_single(c, ref), (codes,))


def test_box_coder_errors():
    coder = BoxCoder((1.0, 1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match=r"BoxCoder.decode_single: rel_codes must be \(N, 4K\)"):
        coder.decode_single(tg.zeros(2, 6), tg.zeros(2, 4))
    with pytest.raises(ValueError, match=r"reference_boxes \(2, 4\) and proposals \(3, 4\)"):
        coder.encode_single(tg.zeros(2, 4), tg.zeros(3, 4))
    with pytest.raises(ValueError, match="weights must be 4 numbers"):
        BoxCoder((1.0, 1.0))


# -- Matcher ---------------------------------------------------------------------------------
def test_matcher_thresholds_by_hand():
    quality = tg.tensor(np.array([[0.9, 0.4, 0.1, 0.35, 0.7],
                                  [0.2, 0.6, 0.05, 0.3, 0.1]]))
    # best: gt0 0.9 (match) | gt1 0.6 (between) | 0.1 (below) | gt0 0.35 (between) | 0.7 >= high
    assert Matcher(0.7, 0.3)(quality).tolist() == [0, -2, -1, -2, 0]
    # low quality: gt1's best prediction is 1 (0.6): it gets its best match back
    assert Matcher(0.7, 0.3, allow_low_quality_matches=True)(quality).tolist() == [0, 1, -1,
                                                                                   -2, 0]
    assert Matcher.BELOW_LOW_THRESHOLD == -1 and Matcher.BETWEEN_THRESHOLDS == -2


def test_low_quality_matches_take_the_predictions_best_gt_and_all_ties():
    # gt0's highest (0.5) is at prediction 1, whose own best is gt1 (0.6): it gets gt1
    quality = tg.tensor(np.array([[0.1, 0.5, 0.2], [0.05, 0.6, 0.25]]))
    assert Matcher(0.7, 0.3, True)(quality).tolist() == [-1, 1, -1]
    # a tie for a gt's highest quality: both predictions are matched; equal gts: the first
    tied = tg.tensor(np.array([[0.4, 0.4, 0.1], [0.4, 0.2, 0.0]]))
    assert Matcher(0.7, 0.3)(tied).tolist() == [-2, -2, -1]
    assert Matcher(0.7, 0.3, True)(tied).tolist() == [0, 0, -1]


@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 6)),
              elements=st.sampled_from([0.0, 0.2, 0.3, 0.5, 0.7, 0.9])), st.booleans())
def test_matcher_against_a_plain_loop(quality, low_quality):
    high, low = 0.7, 0.3
    m, n = quality.shape
    want = []
    for j in range(n):
        best = max(range(m), key=lambda i: (quality[i, j], -i))   # first maximum
        q = quality[best, j]
        want.append(best if q >= high else (-2 if q >= low else -1))
    if low_quality:
        for i in range(m):
            for j in range(n):
                if quality[i, j] == quality[i].max():
                    want[j] = max(range(m), key=lambda k, j=j: (quality[k, j], -k))
    assert Matcher(high, low, low_quality)(tg.tensor(quality)).tolist() == want


def test_matcher_errors():
    with pytest.raises(ValueError, match="no ground-truth boxes"):
        Matcher(0.7, 0.3)(tg.zeros(0, 5))
    with pytest.raises(ValueError, match="no proposal boxes"):
        Matcher(0.7, 0.3)(tg.zeros(2, 0))
    with pytest.raises(ValueError, match=r"low_threshold \(0.8\) must be <= high_threshold"):
        Matcher(0.7, 0.8)


# -- BalancedPositiveNegativeSampler ---------------------------------------------------------
def test_sampler_counts_and_membership():
    matched = [tg.tensor(np.array([-1, 0, 2, 0, 1, -2, 0, 3, 0, 0])),
               tg.tensor(np.array([1, 1, 1, 0]))]
    sampler = BalancedPositiveNegativeSampler(batch_size_per_image=4, positive_fraction=0.25)
    pos, neg = sampler(matched)
    p0, n0 = pos[0].numpy(), neg[0].numpy()
    assert p0.dtype == np.uint8 and p0.shape == (10,)
    assert p0.sum() == 1 and set(np.flatnonzero(p0)) <= {2, 4, 7}        # int(4 * 0.25)
    assert n0.sum() == 3 and set(np.flatnonzero(n0)) <= {1, 3, 6, 8, 9}  # the rest: negatives
    # image 2: one positive allowed, three negatives wanted but only one exists
    assert pos[1].numpy().sum() == 1 and neg[1].numpy().tolist() == [0, 0, 0, 1]
    # too few positives: negatives fill the batch
    pos, neg = BalancedPositiveNegativeSampler(4, 0.75)([tg.tensor(np.array([1, 0, 0, 0, 0]))])
    assert pos[0].tolist() == [1, 0, 0, 0, 0] and neg[0].numpy().sum() == 3


def test_sampler_draws_from_the_seeded_generator_uniformly():
    matched = [tg.tensor(np.array([1, 1, 1, 1, 0, 0]))]
    sampler = BalancedPositiveNegativeSampler(2, 0.5)
    tg.manual_seed(3)
    (p1,), (n1,) = sampler(matched)
    tg.manual_seed(3)
    (p2,), (n2,) = sampler(matched)
    assert p1.tolist() == p2.tolist() and n1.tolist() == n2.tolist()
    tg.manual_seed(0)
    counts = sum(sampler(matched)[0][0].numpy().astype(int) for _ in range(2000))
    assert counts[4:].tolist() == [0, 0]
    assert np.all(np.abs(counts[:4] - 500) < 80)     # each positive with probability 1/4
