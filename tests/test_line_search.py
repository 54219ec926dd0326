"""The strong-Wolfe line search behind ``LBFGS(line_search_fn="strong_wolfe")``: closed forms
for the cubic step, the Wolfe conditions on what it returns, and agreement with the line
search ``torch.optim.LBFGS`` uses, trial by trial."""
import numpy as np
import pytest

from tinygrad_cs.optim._line_search import cubic_minimum, strong_wolfe


def test_the_cubic_step_is_exact_for_cubics_and_quadratics():
    # c(t) = t^3 - 3t has its local minimum at t = 1; q(t) = (t - 0.7)^2 at 0.7
    def c(t):
        return t ** 3 - 3 * t, 3 * t ** 2 - 3

    def q(t):
        return (t - 0.7) ** 2, 2 * (t - 0.7)

    for f, a, b, expected in ((c, 0.0, 2.0, 1.0), (q, 0.0, 2.0, 0.7), (q, 3.0, -1.0, 0.7)):
        assert cubic_minimum(a, *f(a), b, *f(b)) == pytest.approx(expected, abs=1e-12)
    # the minimiser of c is 1, clipped to the bounds given
    assert cubic_minimum(0.0, *c(0.0), 2.0, *c(2.0), bounds=(1.5, 4.0)) == 1.5
    # d1^2 < g_a g_b (the cubic through these has no local minimum): the middle
    assert cubic_minimum(0.0, 0.0, 1.0, 1.0, 2 / 3, 1.0) == 0.5
    # a zero denominator (here d1 = 0, d2 = 1, g_b - g_a = -2): the middle too
    assert cubic_minimum(0.0, 0.0, 1.0, 1.0, 0.0, -1.0, bounds=(0.0, 3.0)) == 1.5


def _problem(name):
    """A smooth function of x in R^3 and its gradient."""
    centre = np.array([1.0, -2.0, 0.5])
    if name == "logcosh":
        def f(x):
            z = np.abs(x - centre)  # log cosh z = z + log(1 + e^-2z) - log 2, without overflow
            return ((z + np.log1p(np.exp(-2 * z)) - np.log(2)).sum() + 0.05 * x @ x,
                    np.tanh(x - centre) + 0.1 * x)
        return f
    if name == "rosenbrock":
        def f(x):
            value = ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()
            grad = np.zeros_like(x)
            grad[:-1] += -2 * (1 - x[:-1]) - 400 * x[:-1] * (x[1:] - x[:-1] ** 2)
            grad[1:] += 200 * (x[1:] - x[:-1] ** 2)
            return value, grad
        return f
    if name == "wavy":  # not convex along a line: phi can rise and fall again
        return lambda x: (0.5 * x @ x + 0.3 * np.sin(5 * x).sum(), x + 1.5 * np.cos(5 * x))
    raise ValueError(name)


START = np.array([-1.2, 1.0, 0.3])


@pytest.mark.parametrize("name", ["logcosh", "rosenbrock"])
@pytest.mark.parametrize("t0", [1e-4, 0.05, 1.0, 30.0])  # expansion ... zoom from far out
def test_the_step_satisfies_the_strong_wolfe_conditions(name, t0):
    f = _problem(name)
    f0, g0 = f(START)
    d = -g0
    gtd = g0 @ d
    value, grad, t, evals = strong_wolfe(lambda s: f(START + s * d), d, t0, f0, g0, gtd)
    assert 1 <= evals <= 26
    np.testing.assert_allclose((value, *grad), (f(START + t * d)[0], *f(START + t * d)[1]))
    assert value <= f0 + 1e-4 * t * gtd  # sufficient decrease
    assert abs(grad @ d) <= 0.9 * abs(gtd)  # curvature


@pytest.mark.parametrize("name", ["logcosh", "rosenbrock", "wavy"])
@pytest.mark.parametrize("t0", [1e-4, 0.05, 0.4, 1.0, 30.0, 1e4])
@pytest.mark.parametrize("max_ls", [2, 25])
def test_it_takes_the_trials_torchs_line_search_takes(name, t0, max_ls):
    torch = pytest.importorskip("torch")
    from torch.optim.lbfgs import _strong_wolfe  # the oracle: the search LBFGS uses

    f = _problem(name)
    f0, g0 = f(START)
    d = -g0
    ours_trials, their_trials = [], []

    def ours(s):
        ours_trials.append(s)
        return f(START + s * d)

    def theirs(x, s, direction):
        their_trials.append(float(s))
        value, grad = f(x.numpy() + float(s) * direction.numpy())
        return value, torch.from_numpy(grad)

    value, grad, t, evals = strong_wolfe(ours, d, t0, f0, g0, g0 @ d, max_ls=max_ls)
    ref = _strong_wolfe(theirs, torch.from_numpy(START), t0, torch.from_numpy(d), f0,
                        torch.from_numpy(g0), torch.tensor(g0 @ d), max_ls=max_ls)
    np.testing.assert_allclose(ours_trials, their_trials, rtol=1e-12)
    assert (evals, t) == pytest.approx((ref[3], float(ref[2])), rel=1e-12)
    assert value == pytest.approx(float(ref[0]), rel=1e-12)
    # the gradient at t: t agrees to 1e-12 relative (the two interpolations round apart), and
    # with t0 = 1e4 a relative 1e-12 of t moves logcosh's gradient by ~1e-11 relative
    np.testing.assert_allclose(grad, ref[1].numpy(), rtol=1e-9)


def test_random_cubic_steps_agree_with_torch():
    torch = pytest.importorskip("torch")
    from torch.optim.lbfgs import _cubic_interpolate

    rng = np.random.default_rng(0)
    for _ in range(300):
        t1, f1, g1, t2, f2, g2 = rng.standard_normal(6) * [3, 1, 2, 3, 1, 2]
        bounds = tuple(sorted(rng.standard_normal(2) * 4)) if rng.random() < 0.5 else None
        f1, g1, f2, g2 = (torch.tensor(v, dtype=torch.float64) for v in (f1, g1, f2, g2))
        expected = float(_cubic_interpolate(t1, f1, g1, t2, f2, g2, bounds=bounds))
        ours = cubic_minimum(t1, float(f1), float(g1), t2, float(f2), float(g2), bounds)
        assert ours == pytest.approx(expected, rel=1e-12)


def test_a_rise_right_after_the_first_trial_does_not_end_the_bracketing():
    # phi(t) = -0.28 t + 0.0126 sin(3.2 t) + 0.05 t^2 ripples: the second trial (t = 4.84)
    # is above the first (t = 0.88) but satisfies both conditions, so it is taken; the test
    # "phi rose since the previous trial" applies from the third trial on, as in torch
    torch = pytest.importorskip("torch")
    from torch.optim.lbfgs import _strong_wolfe

    def phi(t):
        return (-0.28 * t + 0.0126 * np.sin(3.2 * t) + 0.05 * t * t,
                np.array([-0.28 + 0.0126 * 3.2 * np.cos(3.2 * t) + 0.1 * t]))

    f0, g0 = phi(0.0)
    d = np.array([1.0])
    value, _, t, evals = strong_wolfe(phi, d, 0.88, f0, g0, float(g0[0]))
    ref = _strong_wolfe(lambda x, s, _: tuple(map(torch.as_tensor, phi(float(s)))),
                        torch.zeros(1, dtype=torch.float64), 0.88,
                        torch.ones(1, dtype=torch.float64), f0, torch.from_numpy(g0),
                        torch.tensor(g0[0]))
    assert (value, t, evals) == pytest.approx((float(ref[0]), float(ref[2]), ref[3]), rel=1e-12)
    assert evals == 2 and t == pytest.approx(4.8444, rel=1e-9)
    assert value > phi(0.88)[0]
