"""STE learning dynamics: closed forms, identities, symbolic = numeric, card reference numbers.

Fast checks only; the PDE vs finite-d STE comparisons at d = 2000 live in
``test_dynamics_slow.py``.
"""

from __future__ import annotations

import math
import types

import numpy as np
import pytest

from replica import Quantizer
from replica.dynamics import (
    Elementwise,
    STEProblem,
    closure_moments,
    drift,
    fixed_points,
    gibbs_density,
    jacobian,
    max_stable_lr,
    moment_derivatives,
    ode,
    pde,
    plateau,
    simulate,
)
from replica.dynamics.problem import _mapper

# ---------------------------------------------------------------- card reference numbers

# (ω, b) -> (κ, γ) printed in the card (4 decimals, endpoints convention, v = 1)
CARD_MOMENTS = {
    (1.0, 1): (0.7979, 1.0000),
    (1.0, 2): (0.6919, 0.5600),
    (1.0, 3): (0.6843, 0.5240),
    (2.0, 1): (1.5958, 4.0000),
    (2.0, 2): (0.9693, 1.0931),
    (2.0, 3): (0.9574, 0.9524),
}


@pytest.mark.parametrize(("key", "ref"), CARD_MOMENTS.items())
def test_card_moment_table(key, ref):
    omega, b = key
    p = STEProblem(input_quantizer=Quantizer.uniform(b, omega), eta=0.1)
    # the card rounds to 4 decimals: agreement to half a unit in the last place
    assert p.kappa_x == pytest.approx(ref[0], abs=5e-5)
    assert p.gamma_x == pytest.approx(ref[1], abs=5e-5)


@pytest.mark.parametrize(("b", "eta_c"), [(1, 0.500), (2, 1.830), (3, 2.100)])
def test_card_critical_learning_rates(b, eta_c):
    p = STEProblem(input_quantizer=Quantizer.uniform(b, 2.0), eta=0.1, ridge=0.0, noise=0.0)
    # card values are rounded to 3 decimals
    assert max_stable_lr(p) == pytest.approx(eta_c, abs=5e-4)


def test_unquantized_critical_learning_rate():
    assert max_stable_lr(STEProblem(eta=0.1, ridge=0.3)) == pytest.approx(2 * 1.3, rel=1e-15)
    assert max_stable_lr(STEProblem(weight_quantizer=Quantizer.uniform(2, 1.0), eta=1)) == math.inf


# ---------------------------------------------------------------- closed forms


def _online_ridge_closed_form(p: STEProblem, tau):
    """Classical online ridge regression (input-only quantization allowed) in closed form.

    m' = η(κρ − (γ+λ)m), Q' = aQ + bm + c with a = −2η(γ+λ) + η²γ², b = 2ηκ(1 − ηγ),
    c = η²γ(ρ + σ²): m = m* + A e^{−rτ}, Q = Q* + B e^{−rτ} + C e^{aτ}.
    """
    eta, lam, k, g, rho = p.eta, p.ridge, p.kappa_x, p.gamma_x, p.rho
    r = eta * (g + lam)
    a = -2 * eta * (g + lam) + eta**2 * g**2
    b = 2 * eta * k * (1 - eta * g)
    c = eta**2 * g * (rho + p.noise)
    m_star = k * rho / (g + lam)
    A = p.m0 - m_star
    Q_star = -(b * m_star + c) / a
    B = -b * A / (a + r)
    C = p.Q0 - Q_star - B
    m = m_star + A * np.exp(-r * tau)
    Q = Q_star + B * np.exp(-r * tau) + C * np.exp(a * tau)
    return m, Q


@pytest.mark.parametrize(
    "kw",
    [
        dict(eta=0.3, ridge=0.0, noise=0.0, init=1.0),
        dict(eta=1.1, ridge=0.5, noise=0.2, init=0.3, init_align=0.4, rho=2.0),
        dict(eta=0.7, ridge=0.1, noise=0.05, input_quantizer=Quantizer.uniform(3, 2.0)),
        dict(eta=0.2, ridge=1.0, teacher="constant", input_quantizer=Quantizer.uniform(2, 1.5)),
    ],
)
def test_exact_ode_equals_closed_form(kw):
    p = STEProblem(**kw)
    tau = np.linspace(0, 30, 61)
    tr = ode(p, 30.0, t_eval=tau)
    m, Q = _online_ridge_closed_form(p, tau)
    # DOP853 at rtol 1e-10/atol 1e-12 on O(1) solutions: global error far below the 1e-8 check
    np.testing.assert_allclose(tr.m, m, rtol=0, atol=1e-8)
    np.testing.assert_allclose(tr.Q, Q, rtol=0, atol=1e-8)
    assert tr.closure == "exact" and tr.converged
    # the generalization error is the population formula (unquantized weights: m_ψ = m, q_ψ = Q)
    np.testing.assert_allclose(
        tr.eg, p.rho + p.noise - 2 * p.kappa_x * m + p.gamma_x * Q, atol=1e-8
    )


def test_ode_reports_divergence_above_eta_c():
    p0 = STEProblem(input_quantizer=Quantizer.uniform(2, 2.0), eta=1.0)
    p = STEProblem(input_quantizer=Quantizer.uniform(2, 2.0), eta=1.2 * max_stable_lr(p0))
    tr = ode(p, 500.0, throw=False)
    assert tr.status == "diverged"
    from replica.errors import ConvergenceError

    with pytest.raises(ConvergenceError) as info:
        ode(p, 500.0)
    assert info.value.result.status == "diverged"


def test_error_conventions():
    p = STEProblem(eta=0.1, noise=0.3)
    half = STEProblem(eta=0.1, noise=0.3, error_scale=0.5, error_noise=False)
    m, q = 0.4, 0.5
    full = 1 + 0.3 - 2 * 0.4 + 0.5
    assert p.generalization_error(m, q) == pytest.approx(full, rel=1e-15)
    assert half.generalization_error(m, q) == pytest.approx(0.5 * (full - 0.3), rel=1e-15)


# ---------------------------------------------------------------- fixed points and stability


def test_exact_fixed_point_and_eigenvalues():
    p = STEProblem(input_quantizer=Quantizer.uniform(3, 1.5), eta=0.4, ridge=0.2, noise=0.1)
    (fp,) = fixed_points(p)
    k, g, lam, eta = p.kappa_x, p.gamma_x, p.ridge, p.eta
    assert fp.m == pytest.approx(k / (g + lam), rel=1e-14)
    dm, dQ = drift(p, fp.m, fp.Q)
    assert abs(dm) < 1e-14 and abs(dQ) < 1e-14  # a root, to round-off
    ev = sorted(z.real for z in fp.eigenvalues)
    expected = sorted([-eta * (g + lam), -2 * eta * (g + lam) + eta**2 * g**2])
    np.testing.assert_allclose(ev, expected, rtol=1e-13)
    assert fp.stable


def test_input_only_stability_switches_at_eta_c():
    base = STEProblem(input_quantizer=Quantizer.uniform(2, 2.0), eta=1.0, ridge=0.3)
    eta_c = max_stable_lr(base)
    import dataclasses

    below = fixed_points(dataclasses.replace(base, eta=0.999 * eta_c))[0]
    above = fixed_points(dataclasses.replace(base, eta=1.001 * eta_c))[0]
    assert below.stable and not above.stable


def test_symbolic_critical_learning_rate():
    import sympy as sp

    from replica.symbolic import ste

    s = ste.symbols()
    eta_c = ste.critical_learning_rate()
    assert sp.simplify(eta_c - 2 * (s.gx + s.lam) / s.gx**2) == 0
    # and the numeric value for a concrete input quantizer
    p = STEProblem(input_quantizer=Quantizer.uniform(3, 2.0), eta=0.1, ridge=0.25)
    val = float(eta_c.subs({s.gx: p.gamma_x, s.lam: p.ridge}))
    assert val == pytest.approx(max_stable_lr(p), rel=1e-14)


def test_symbolic_fixed_point_equals_numeric():
    from replica.symbolic import ste

    s = ste.symbols()
    sol = ste.input_only_fixed_point()
    p = STEProblem(
        input_quantizer=Quantizer.uniform(2, 1.0), eta=0.6, ridge=0.4, noise=0.2, rho=1.5
    )
    vals = {
        s.eta: p.eta,
        s.lam: p.ridge,
        s.rho: p.rho,
        s.sigma2: p.noise,
        s.kx: p.kappa_x,
        s.gx: p.gamma_x,
    }
    (fp,) = fixed_points(p)
    assert float(sol[s.m].subs(vals)) == pytest.approx(fp.m, rel=1e-13)
    assert float(sol[s.Q].subs(vals)) == pytest.approx(fp.Q, rel=1e-13)


@pytest.mark.parametrize("ridge_on", ["latent", "quantized"])
def test_numeric_jacobian_equals_lambdified_symbolic(ridge_on, rng):
    from replica.symbolic import ste

    J_sym = ste.lambdified_jacobian(ridge_on)
    q = Quantizer.uniform(3, 1.2)
    for _ in range(5):
        p = STEProblem(
            weight_quantizer=q,
            input_quantizer=Quantizer.uniform(4, 2.0),
            eta=rng.uniform(0.1, 2),
            ridge=rng.uniform(0, 1),
            noise=rng.uniform(0, 1),
            rho=rng.uniform(0.5, 2),
            ridge_on=ridge_on,
        )
        Q = rng.uniform(0.1, 3)
        m = rng.uniform(-1, 1) * math.sqrt(p.rho * Q)
        d = moment_derivatives(q, 0.0, Q)
        kw, dkw = d["X"] / Q, d["X_s"] / Q - d["X"] / Q**2
        args = dict(
            m=m,
            Q=Q,
            eta=p.eta,
            lam=p.ridge,
            rho=p.rho,
            sigma2=p.noise,
            kx=p.kappa_x,
            gx=p.gamma_x,
            kw=kw,
            dkw=dkw,
            gw=d["F2"],
            dgw=d["F2_s"],
        )
        expected = np.array(J_sym(*[args[a] for a in ste.JACOBIAN_ARGS]), dtype=float)
        # same algebra evaluated in a different order: round-off only
        np.testing.assert_allclose(jacobian(p, m, Q), expected, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("teacher", ["gaussian", "constant"])
def test_jacobian_matches_finite_differences(teacher):
    p = STEProblem(
        weight_quantizer=Quantizer.uniform(2, 1.0),
        eta=0.8,
        ridge=0.3,
        noise=0.1,
        teacher=teacher,
        ridge_on="quantized" if teacher == "constant" else "latent",
    )
    m, Q, h = 0.45, 0.8, 1e-6
    J = jacobian(p, m, Q)
    fd = np.empty((2, 2))
    for j, (dm, dQ) in enumerate([(h, 0), (0, h)]):
        fd[:, j] = (np.array(drift(p, m + dm, Q + dQ)) - np.array(drift(p, m - dm, Q - dQ))) / (
            2 * h
        )
    # central differences with h = 1e-6: truncation O(h²) ~ 1e-12, round-off ~ 1e-16/h ~ 1e-10
    np.testing.assert_allclose(J, fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize(
    "transform",
    [Quantizer.uniform(3, 1.0), Quantizer.gaussian_quantile(2, 1.5), Elementwise(fn=np.tanh)],
    ids=["uniform", "quantile", "tanh"],
)
def test_moment_derivatives_match_finite_differences(transform):
    mu, s, h = np.array([0.3, -1.1, 0.0]), np.array([0.7, 1.9, 0.2]), 1e-5
    d = moment_derivatives(transform, mu, s)
    for name, key in (("first", "F1"), ("second", "F2"), ("cross", "X")):

        def f(a, b, name=name):
            return getattr(transform.gaussian_moments(a, b), name)

        fd_mu = (f(mu + h, s) - f(mu - h, s)) / (2 * h)
        fd_s = (f(mu, s + h) - f(mu, s - h)) / (2 * h)
        # central differences (h = 1e-5): truncation ~1e-10, round-off ~1e-11
        np.testing.assert_allclose(d[key + "_mu"], fd_mu, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(d[key + "_s"], fd_s, rtol=1e-6, atol=1e-8)


def test_gaussian_closure_uses_stein_identity():
    q = Quantizer.uniform(2, 1.3)
    p = STEProblem(weight_quantizer=q, eta=0.1)
    m, Q = 0.3, 0.6
    m_psi, C_psi, q_psi = closure_moments(p, m, Q)
    # E[w* ψ(ŵ)] by Gauss–Hermite over w* of the non-centred moment given w*
    from replica import gauss

    s = Q - m * m
    val = gauss.expect(lambda w: w * q.gaussian_moments(m * w, s).first, 0.0, 1.0, order=200)
    # the integrand is smooth (s > 0): 200 Hermite nodes are exact to ~1e-10
    assert m_psi == pytest.approx(float(val), abs=1e-9)
    assert q_psi == pytest.approx(float(q.gaussian_moments(0.0, Q).second), rel=1e-14)
    assert C_psi == pytest.approx(float(q.gaussian_moments(0.0, Q).cross), rel=1e-14)


def test_isotropic_fixed_point_is_stationary_point_of_ode():
    p = STEProblem(weight_quantizer=Quantizer.uniform(3, 1.0), eta=0.5, ridge=0.5)
    fps = fixed_points(p, kind="isotropic")
    stable = [f for f in fps if f.stable]
    assert len(stable) == 1
    tr = ode(p, 200.0, n_points=3)
    # relaxation rate |λ_min| ~ 0.4 per unit τ: after τ = 200 the ODE sits on the node to round-off
    assert tr.m[-1] == pytest.approx(stable[0].m, abs=1e-9)
    assert tr.Q[-1] == pytest.approx(stable[0].Q, abs=1e-9)
    assert tr.eg[-1] == pytest.approx(stable[0].eg, abs=1e-9)


@pytest.mark.parametrize("teacher", ["constant", "gaussian"])
def test_gibbs_small_eta_floor(teacher):
    # card: λ = 0, η → 0: ε* → ½ E[w*²(1 − κ_x²/γ_x) + γ_x D(κ_x w*/γ_x)] (error_scale ½, no σ²)
    q = Quantizer.uniform(2, 2.0)
    qx = Quantizer.uniform(3, 2.0)
    p = STEProblem(
        weight_quantizer=q,
        input_quantizer=qx,
        eta=1e-5,
        ridge=0.0,
        teacher=teacher,
        error_scale=0.5,
        error_noise=False,
    )
    (fp,) = fixed_points(p)
    k, g = p.kappa_x, p.gamma_x

    def floor(w):
        # dithering between the two levels around μ = κ_x w*/γ_x; beyond the outer levels the
        # coordinate escapes and ψ saturates (no dither)
        mu = k * w / g
        j = np.clip(np.searchsorted(q.levels, mu) - 1, 0, q.n_levels - 2)
        D = np.clip((mu - q.levels[j]) * (q.levels[j + 1] - mu), 0, None)
        mean = np.clip(mu, q.levels[0], q.levels[-1])
        return w * w - 2 * k * w * mean + g * (mean * mean + D)

    if teacher == "constant":
        expected = 0.5 * floor(1.0)
        tol = 1e-4  # corrections are O(T) with T = ηγe/2 ~ 1e-5
    else:
        w = np.linspace(-9, 9, 200_001)
        wt = np.exp(-w * w / 2)
        expected = 0.5 * float(np.sum(wt * floor(w)) / np.sum(wt))
        # O(T) corrections plus the w* grid (spacing 4.5e-3) across the dither transitions
        tol = 1e-3
    assert fp.eg == pytest.approx(expected, abs=tol)


def test_gibbs_density_normalised_and_matches_grid_pde():
    q = Quantizer.uniform(2, 2.0)
    p = STEProblem(
        weight_quantizer=q,
        input_quantizer=Quantizer.uniform(2, 2.0),
        eta=0.5,
        ridge=0.0,
        teacher="constant",
        init=1.0,
    )
    (fp,) = fixed_points(p)
    x = np.linspace(-6, 10, 160_001)
    dens = gibbs_density(p, x, 1.0, fp.e)
    # trapezoid on a fine grid of a continuous, piecewise-smooth density
    assert np.trapezoid(dens, x) == pytest.approx(1.0, abs=1e-6)
    sol = pde(p, 120.0, method="grid", n_points=5, n_cells=4000)
    # the zero-flux state of the Scharfetter–Gummel scheme is exact for this piecewise-constant
    # drift; what remains is the O(h²) cell-mass error: 1.5e-3 at 2000 cells, 3.8e-4 at 4000
    assert sol.e[-1] == pytest.approx(fp.e, rel=1e-3)


# ---------------------------------------------------------------- PDE methods


def test_pde_grid_and_particles_agree_with_exact_ode_without_weight_quantization():
    p = STEProblem(input_quantizer=Quantizer.uniform(3, 2.0), eta=0.8, ridge=0.2, noise=0.1)
    tr = ode(p, 6.0, n_points=7)
    g = pde(p, 6.0, method="grid", n_points=7, n_cells=800, n_teacher=24)
    # grid: O(h²) space error, 5.6e-3 at 400 cells, 1.6e-3 at 800, 1.0e-3 at 1600
    np.testing.assert_allclose(g.eg, tr.eg, rtol=3e-3)
    pt = pde(p, 6.0, method="particles", n_points=7, n_particles=20_000, seed=1, dt=0.02)
    # particles: Monte-Carlo error ~ sd(ŵ²)/√N ~ 1e-2 relative at N = 2e4, plus O(dt) bias
    np.testing.assert_allclose(pt.eg, tr.eg, rtol=3e-2)


def test_pde_grid_conserves_mass_and_returns_density():
    p = STEProblem(
        weight_quantizer=Quantizer.uniform(2, 1.0), eta=0.5, ridge=0.5, teacher="constant"
    )
    edges = np.linspace(-4, 4, 81)
    sol = pde(p, 5.0, method="grid", n_points=6, density_times=(0.0, 5.0), edges=edges, n_cells=300)
    assert sol.density.shape == (2, 80)
    mass = sol.density.sum(axis=1) * np.diff(edges)[0]
    # the law is inside [-4, 4] up to Gaussian tails < 1e-4
    np.testing.assert_allclose(mass, 1.0, atol=1e-4)
    ds = sol.to_dataset()
    assert set(ds.data_vars) >= {"eg", "m", "Q", "density"}


def test_particles_support_clipped_ste_and_grid_refuses():
    p = STEProblem(weight_quantizer=Quantizer.uniform(2, 1.0), eta=0.5, ridge=0.1, ste="clipped")
    sol = pde(p, 2.0, method="particles", n_points=3, n_particles=2000)
    assert sol.converged and np.all(np.isfinite(sol.eg))
    with pytest.raises(ValueError, match="ste"):
        pde(p, 2.0, method="grid")
    with pytest.raises(ValueError, match="ste"):
        ode(p, 2.0)


# ---------------------------------------------------------------- finite-d simulation


@pytest.mark.parametrize(
    "q",
    [
        Quantizer.uniform(3, 1.0),
        Quantizer.uniform(2, 2.0, "zero"),
        Quantizer.power_of_two(3, 1.0),
        Quantizer(levels=[0.7]),
    ],
    ids=["uniform", "zero", "pow2", "single"],
)
def test_fast_mapper_equals_quantizer(q, rng):
    x = rng.standard_normal((7, 300)) * 2
    k = min(5, q.n_levels - 1)
    x[0, :k] = q.thresholds[:k]  # exact ties go to the upper level
    np.testing.assert_array_equal(_mapper(q, np)(x), q(x))
    # the array-namespace path (cupy, torch) run on numpy through a namespace that is not numpy
    ns = types.SimpleNamespace(**{k: getattr(np, k) for k in
                                  ("asarray", "clip", "floor", "astype", "int64", "take",
                                   "searchsorted")})  # fmt: skip
    np.testing.assert_array_equal(_mapper(q, ns)(x), q(x))


def test_seeds_are_independent_of_batching():
    p = STEProblem(weight_quantizer=Quantizer.uniform(2, 1.0), eta=0.5, ridge=0.1, noise=0.2)
    both = simulate(p, 50, 2.0, seeds=(3, 4), n_points=5)
    alone = simulate(p, 50, 2.0, seeds=(4,), n_points=5)
    # vectorised over seeds = one run per seed, bit for bit up to summation order
    np.testing.assert_allclose(both.eg[1], alone.eg[0], rtol=1e-12)


def test_unquantized_simulation_matches_exact_ode():
    p = STEProblem(eta=0.5, ridge=0.2, noise=0.1)
    sim = simulate(p, 400, 6.0, seeds=range(10), n_points=7)
    tr = ode(p, 6.0, n_points=7)
    # fluctuations O(1/√d) per run, averaged over 10 seeds; the O(1/d) bias is far smaller
    z = np.abs(sim.eg_mean - tr.eg) / sim.eg_sem
    assert np.all(z[1:] < 3.0), z


def test_simulation_diverges_above_eta_c_not_below():
    base = STEProblem(input_quantizer=Quantizer.uniform(2, 2.0), eta=1.0, ridge=0.0)
    eta_c = max_stable_lr(base)
    import dataclasses

    lo = simulate(dataclasses.replace(base, eta=0.9 * eta_c), 500, 80.0, seeds=(0, 1), n_points=5)
    hi = simulate(
        dataclasses.replace(base, eta=1.1 * eta_c), 500, 80.0, seeds=(0, 1), n_points=5, throw=False
    )
    # at 1.1 η_c the Q-mode grows like exp(0.2 η (γ_x + λ) τ) ≈ e^{35} by τ = 80, past the
    # blow-up threshold (|y − ŷ| > 1e6, i.e. Q ~ 1e12): both runs diverge;
    # at 0.9 η_c it decays and ε_g stays at its O(1) stationary value
    assert hi.status == "diverged" and hi.diverged.all()
    assert lo.status == "converged" and not lo.diverged.any()
    assert np.all(
        lo.eg[:, -1] < 10 * fixed_points(dataclasses.replace(base, eta=0.9 * eta_c))[0].eg
    )


# ---------------------------------------------------------------- plateau


def test_plateau_detection():
    tau = np.linspace(0, 100, 2001)
    eg = 0.2 + 0.6 / (1 + np.exp(tau - 60)) + 0.4 * np.exp(-tau)
    pl = plateau(tau=tau, eg=eg)
    assert pl.found and pl.drop_time == pytest.approx(60.0, abs=0.1)
    assert 40 < pl.length < 60 and pl.level == pytest.approx(0.8, abs=0.01)
    exp_decay = plateau(tau=tau, eg=np.exp(-tau / 10))
    assert not exp_decay.found and exp_decay.length == 0.0


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        (dict(eta=0.0), "eta"),
        (dict(eta=1.0, ridge=-1.0), "ridge"),
        (dict(eta=1.0, noise=-0.1), "noise"),
        (dict(eta=1.0, teacher="uniform"), "teacher"),
        (dict(eta=1.0, rho=0.0), "rho"),
        (dict(eta=1.0, init=-1.0), "init"),
        (dict(eta=1.0, ridge_on="both"), "ridge_on"),
        (dict(eta=1.0, ste="soft"), "ste"),
        (dict(eta=1.0, error_scale=2.0), "error_scale"),
        (dict(eta=1.0, weight_quantizer=3.0), "weight_quantizer"),
        (dict(eta=1.0, input_quantizer=Quantizer(levels=[0.0, 1.0])), "input_quantizer"),
    ],
)
def test_invalid_problem_raises(kw, name):
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        STEProblem(**kw)


# ---------------------------------------------------------------- hardening (fuzz findings)


def test_pde_particles_divergence_between_outputs_is_flagged():
    # fuzz: η = 1 ≫ η_c = 2/γ_x² ≈ 0.04 with one output interval overflowed the particles
    # (RuntimeWarning, then NaN histograms) before the output-time check saw it
    p = STEProblem(input_quantizer=Quantizer.uniform(1, 7.0), eta=1.0, noise=0.0, init=0.0)
    sol = pde(p, 1.0, n_points=2, n_particles=100, density_times=(1.0,), throw=False)
    assert sol.status == "diverged"
    assert np.all(np.isfinite(sol.Q)) and np.all(np.isfinite(sol.e))


def test_pde_particles_density_outside_edges_is_zero_not_nan():
    # all particles outside the bins: density 0 (mass outside the edges), not 0/0
    p = STEProblem(eta=0.5, init=0.01, init_align=1.0, teacher="constant")
    sol = pde(p, 0.1, n_points=2, n_particles=100, density_times=(0.0,), edges=[-3.0, -2.0])
    assert sol.density.shape == (1, 1) and sol.density[0, 0] == 0.0


def test_isotropic_fixed_points_grid_far_beyond_sqrt_q_no_overflow():
    # fuzz: a 'zero' grid with levels ±76 at Q ~ 1 has E[ŵψ(ŵ)] ≈ 1e-300: m = κρ/den overflowed
    q = Quantizer.uniform(3, 228.533, "zero")
    p = STEProblem(weight_quantizer=q, eta=3.4, ridge=8.75, noise=4.25, rho=1000.0, init=1.0,
                   ridge_on="quantized")  # fmt: skip
    fps = fixed_points(p, "isotropic", q_range=(1.0, 1e3))
    for fp in fps:
        assert abs(fp.m) <= np.sqrt(p.rho * fp.Q) * (1 + 1e-9) and np.isfinite(fp.eg)


def test_fixed_points_auto_uses_isotropic_for_elementwise_weights():
    p = STEProblem(weight_quantizer=Elementwise(fn=np.tanh, name="tanh"), eta=0.5, ridge=0.1)
    fps = fixed_points(p)
    assert fps and all(fp.kind == "isotropic" for fp in fps)


def test_input_quantizer_without_signal_raises():
    # fuzz: thresholds at ±30σ give γ_x ≈ 1e-191, and γ_x² underflowed in max_stable_lr
    with pytest.raises(ValueError, match=r"^input_quantizer: expected .*1e-100"):
        STEProblem(input_quantizer=Quantizer.uniform(4, 417.266, "zero"), eta=1.0)


def test_stiff_ode_stops_at_the_evaluation_budget():
    # fuzz: a ±268 grid at Q ≈ 7 with the ridge on the quantized weights is stiff; DOP853 ran for
    # minutes. It now stops at max_nfev with status max_iter and the points computed so far.
    p = STEProblem(weight_quantizer=Quantizer.uniform(1, 268.332), eta=4.35, ridge=5.89,
                   noise=5.89, rho=798.8, init=7.13, ridge_on="quantized",
                   input_quantizer=Quantizer.uniform(1, 0.001))  # fmt: skip
    tr = ode(p, 0.1, n_points=3, max_nfev=2000, throw=False)
    assert tr.status == "max_iter" and 2000 <= tr.n_iter < 2100
    assert np.all(np.isfinite(tr.Q))
    with pytest.raises(ValueError, match=r"^max_nfev: expected"):
        ode(p, 0.1, max_nfev=0)
    with pytest.raises(ValueError, match=r"^t_eval: expected"):
        ode(p, 1.0, t_eval=[0.5, 0.2])


def test_simulate_diverged_seeds_are_inf_not_nan():
    p = STEProblem(eta=8.0, noise=0.0, init=0.0)  # η = 8 ≫ η_c = 2: every run blows up
    sim = simulate(p, 7, 3.0, seeds=(3, 4), n_points=3, throw=False)
    assert sim.status == "diverged" and sim.diverged.all()
    for name in ("m", "Q", "m_psi", "q_psi", "eg"):
        assert not np.isnan(getattr(sim, name)).any(), name
    assert np.isposinf(sim.eg[:, -1]).all() and np.isposinf(sim.Q[:, -1]).all()
    assert np.isposinf(sim.eg_sem[-1]) and np.isposinf(sim.residual)


def test_simulate_too_large_for_memory_raises_clear_valueerror():
    # 10⁹ coordinates × 4 seeds × a 256-step chunk: petabytes, refused before any allocation
    p = STEProblem(eta=0.5)
    with pytest.raises(ValueError, match=r"^d, seeds, chunk: expected sizes whose arrays fit"):
        simulate(p, 10**9, 1.0, seeds=range(4))


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        (dict(n_points=0), "n_points"),
        (dict(seeds=(-1,)), "seeds"),
        (dict(seeds=(0.5,)), "seeds"),
        (dict(density_times=(0.5,), edges=[1.0, 0.0]), "edges"),
        (dict(density_times=(5.0,), edges=[0.0, 1.0]), "density_times"),
        (dict(blowup=0.0), "blowup"),
        (dict(d=True), "d"),
    ],
)
def test_simulate_invalid_arguments_raise(kw, name):
    args = dict(d=4, t_max=1.0) | kw
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        simulate(STEProblem(eta=0.5), **args)


def test_pde_grid_keeps_the_whole_domain_when_thresholds_exceed_the_cell_budget():
    # fuzz: inserting the threshold faces made more than n_cells + 1 faces and the array was
    # truncated, cutting off the top of the domain: the initial law of a teacher node had no
    # mass left (0/0). Merging cells keeps the domain; too few cells for the thresholds raise.
    p = STEProblem(weight_quantizer=Quantizer.uniform(1, 1.0), eta=1.0, ridge=1 / 64,
                   noise=1.0, rho=261.0, init=1.0, init_align=-1.0)  # fmt: skip
    sol = pde(p, 1.0, method="grid", n_points=2, n_cells=10, n_teacher=4, throw=False)
    # 10 cells over a domain of width ~6000 (ridge 1/64): honestly flagged as too coarse
    assert sol.status == "domain" and sol.n_iter == 0 and sol.residual == math.inf
    fine = pde(p, 1.0, method="grid", n_points=2, n_cells=4000, n_teacher=4, throw=False)
    assert fine.status == "converged" and np.all(np.isfinite(fine.Q))
    with pytest.raises(ValueError, match=r"^n_cells: expected >= number of thresholds"):
        pde(STEProblem(weight_quantizer=Quantizer.uniform(4, 1.0), eta=1.0), 1.0,
            method="grid", n_cells=10)  # fmt: skip
