"""Structured designs at β = ∞ (the ground state): the RS fixed point χR(−χ) = D of
replica.structured, the rank limit of χR(−χ) (replica.designs), and the interpolation threshold
of a covariance design (replica.boundaries)."""

import math

import numpy as np
import pytest

from replica import QuantizedRegression, Quantizer, solve_rs
from replica.boundaries import interpolation_threshold
from replica.designs import CovarianceDesign, GaussianDesign, SpectralDesign
from replica.model import NO_RS_SOLUTION
from replica.structured import solve_rs_structured, vamp_state_evolution


def power_law(L=300):
    lam = 1.0 / np.arange(1, L + 1)
    return lam * (L / lam.sum())  # explicit normalisation by the test: mean 1


TWO_LEVEL = np.r_[np.full(100, 3.0), np.full(100, 0.5)]

LAWS = [  # (design, alpha, rank limit L = lim χR(−χ) from its closed form in the docs)
    (GaussianDesign(), 0.5, 0.5),
    (GaussianDesign(), 2.0, 2.0),
    (CovarianceDesign(eigenvalues=power_law()), 0.5, 0.5),
    (CovarianceDesign(eigenvalues=power_law()), 2.0, 2.0),
    (CovarianceDesign(eigenvalues=TWO_LEVEL), 1.3, 1.3),
    (CovarianceDesign(eigenvalues=np.r_[np.zeros(50), np.ones(150)]), 0.5, 0.5),
    (CovarianceDesign(eigenvalues=np.r_[np.zeros(50), np.ones(150)]), 2.0, 0.75),
    (SpectralDesign(xtx_eigenvalues=[2.0, 1.0, 0.0], weights=[0.3, 0.3, 0.4]), 1.0, 0.6),
    (SpectralDesign.orthogonal(0.5), 0.5, 0.5),
]


@pytest.mark.parametrize("design,alpha,L", LAWS)
def test_rank_limit_is_the_limit_of_chi_r(design, alpha, L):
    # χR(−χ) solved directly (not the table) at χ = 1e4, 1e6, 1e8: its gap to the claimed limit
    # is O(1/χ) (the next term of χR(−χ) = L + c/χ), so it must shrink by ~100 per step (> 50
    # allows rounding of the 1e-8 gap), and be below 1e-6 at χ = 1e8 (c is O(1) here)
    law = design.law(alpha)
    assert law.rank_limit == L
    gaps = []
    for chi in (1e4, 1e6, 1e8):
        if isinstance(design, GaussianDesign):
            R = law.at_chi(chi)[1]
        else:
            R = law._solve_at_chi(np.array([chi]))[1]
        gaps.append(float(L - chi * R[0]))
    assert all(g > 0 for g in gaps), gaps  # Φ increases towards L
    assert gaps[0] > 50 * gaps[1] > 2500 * gaps[2] and gaps[2] < 1e-6, gaps
    # where ν has an atom at 0, L is the fraction of non-zero eigenvalues 1 − ν({0}); where it
    # has none (α > 1 here), L = α ≥ 1 = 1 − ν({0})
    if law.zero_mass > 0:
        assert law.rank_limit == pytest.approx(1.0 - law.zero_mass, abs=1e-15)
    else:
        assert alpha > 1 and law.rank_limit == alpha


def test_rank_limit_without_an_atom_at_zero():
    # full-rank XᵀX (α > 1): L = α > 1 − ν({0}) = 1 for a covariance design (MP: αχ/(1+χ) → α),
    # and L = ∞ for an atomic law with smallest eigenvalue > 0 (χR = 2χ for XᵀX = 2I)
    law = CovarianceDesign(eigenvalues=TWO_LEVEL).law(1.3)
    assert law.zero_mass == 0.0 and law.rank_limit == 1.3
    orth = SpectralDesign.orthogonal(2.0).law(2.0)
    assert orth.rank_limit == math.inf
    for chi in (1e2, 1e6):
        # the direct solve has s = 1/χ − 2 next to the pole at −2: relative error ~ eps·χ
        assert chi * orth._solve_at_chi(np.array([chi]))[1][0] == pytest.approx(2 * chi, rel=1e-9)
    assert orth.chi_of_d(5.0)[0] == pytest.approx(2.5, rel=1e-14)


@pytest.mark.parametrize("design,alpha,L", LAWS)
def test_chi_of_d_inverts_chi_r(design, alpha, L):
    # χ(D) solved without the table: χR(−χ) = D at the root to rounding (1e-12 relative, R from
    # the direct solve); D at or above L has no finite root
    law = design.law(alpha)
    for frac in (0.01, 0.3, 0.9, 0.999):
        D = frac * min(L, 5.0)
        chi, dlog = law.chi_of_d(D)
        if isinstance(design, GaussianDesign):
            R = law.at_chi(chi)[1][0]
        else:
            R = law._solve_at_chi(np.array([chi]))[1][0]
        assert chi * R == pytest.approx(D, rel=1e-12)
        # d ln χ/dD against a central difference (step 1e-6 relative: error ~1e-6 of it)
        h = 1e-6 * D
        fd = (math.log(law.chi_of_d(D + h)[0]) - math.log(law.chi_of_d(D - h)[0])) / (2 * h)
        assert dlog == pytest.approx(fd, rel=1e-5)
    if math.isfinite(L):
        assert law.chi_of_d(L) == (math.inf, math.inf)
        assert law.chi_of_d(L * 1.01)[0] == math.inf
    assert law.chi_of_d(0.0)[0] == 0.0


IID_POINTS = [  # (bits, width, alpha, noise, ridge); two without an RS solution (D ≥ α)
    (1, 0.5, 2.0, 0.1, 0.0), (2, 1.5, 2.0, 0.1, 0.0), (3, 2.0, 2.0, 0.1, 0.05),
    (2, 1.0, 0.7, 0.0, 0.1), (2, 1.0, 1.5, 0.5, 0.2), (1, 1.0, 0.4, 0.1, 0.0),
    (2, 3.0, 0.8, 0.1, 0.0), (1, 1.0, 0.3, 0.1, 0.0),
]  # fmt: skip


@pytest.mark.parametrize("bits,width,alpha,noise,ridge", IID_POINTS)
def test_iid_design_at_beta_inf_reproduces_solve_rs(bits, width, alpha, noise, ridge):
    # the structured β = ∞ path with the Gaussian design (closed forms) and with λ ≡ 1
    # (Silverstein solver, Chebyshev table) against solve_rs's i.i.d. β = ∞ map: both solve to
    # 1e-11 in ln Δ, ln χ, so 1e-10 (absolute and relative)
    m = QuantizedRegression(quantizer=Quantizer.uniform(bits, width), alpha=alpha,
                            beta=math.inf, noise=noise, ridge=ridge)  # fmt: skip
    ref = solve_rs(m, throw=False)
    names = ("mse", "m", "q", "Q", "chi", "delta", "D", "gen_error", "train_error",
             "free_energy", "energy", "entropy")  # fmt: skip
    for design in (GaussianDesign(), CovarianceDesign(eigenvalues=[1.0, 1.0])):
        sol = solve_rs_structured(m.replace(design=design), throw=False)
        assert sol.status == ref.status
        assert sol.A == sol.Q_hat == sol.q_hat == math.inf
        if ref.status == NO_RS_SOLUTION:
            assert ref.D >= alpha and sol.chi == pytest.approx(math.exp(40.0))
            assert math.isnan(sol.gen_error) and math.isnan(sol.train_error)
            continue
        assert sol.converged and sol.at == ref.at == math.inf
        for n in names:
            assert getattr(sol, n) == pytest.approx(getattr(ref, n), abs=1e-10, rel=1e-10), n


def test_iid_points_cover_both_outcomes():
    # the list above has converged points with ridge > 0 and no_rs_solution points (the test
    # above checks each status against solve_rs; this keeps the list honest)
    got = []
    for bits, width, alpha, noise, ridge in IID_POINTS:
        m = QuantizedRegression(quantizer=Quantizer.uniform(bits, width), alpha=alpha,
                                beta=math.inf, noise=noise, ridge=ridge)  # fmt: skip
        got.append((solve_rs(m, throw=False).status, ridge > 0))
    assert sum(s == "converged" for s, _ in got) >= 5
    assert ("converged", True) in got and (NO_RS_SOLUTION, False) in got


STRUCTURED = [CovarianceDesign(eigenvalues=power_law()), CovarianceDesign(eigenvalues=TWO_LEVEL),
              SpectralDesign(xtx_eigenvalues=[2.0, 1.0, 0.0], weights=[0.3, 0.3, 0.4])]  # fmt: skip


@pytest.mark.parametrize("design", STRUCTURED)
@pytest.mark.parametrize("point", [(2, 1.5, 2.0, 0.1, 0.0), (2, 1.0, 0.8, 0.1, 0.05)])
def test_beta_inf_is_the_large_beta_limit(design, point):
    # the finite-β structured solution at β = 1e6, 1e8, 1e10 converges to the β = ∞ one. The
    # corrections are O(1/β) (posterior widths 1/A = 1/(βR) around the staircase's jumps, and
    # the entropy term s/β of f), so the gap must shrink by ~100 per step (> 30 allows the
    # solvers' 1e-11 tolerance at the last step) and be below 1e-7·(1 + |x|) at β = 1e10
    # (measured: ≤ 1.5e-9). The energy, which has no O(1/β) term, is compared directly.
    bits, width, alpha, noise, ridge = point
    m = QuantizedRegression(quantizer=Quantizer.uniform(bits, width), alpha=alpha,
                            beta=math.inf, noise=noise, ridge=ridge, design=design)  # fmt: skip
    inf = solve_rs(m, throw=False)
    if isinstance(design, SpectralDesign) and alpha == 2.0:
        # this fixed law has rank limit 0.6 and D ≥ 0.6 here: no RS solution at β = ∞
        assert inf.status == NO_RS_SOLUTION and inf.D >= 0.6
        return
    assert inf.converged and math.isinf(inf.A) and inf.at == math.inf
    # at β = ∞ the free energy is the ground-state energy (α/2)·train + (λ/2)Q: an identity
    # between independently computed fields (the errors' LMMSE form and the energetic term)
    assert inf.free_energy == inf.energy
    assert inf.energy == pytest.approx(0.5 * alpha * inf.train_error + 0.5 * ridge * inf.Q,
                                       abs=1e-12)  # fmt: skip
    names = ("mse", "chi", "delta", "gen_error", "train_error", "free_energy", "entropy")
    gaps = []
    for beta in (1e6, 1e8, 1e10):
        sol = solve_rs(m.replace(beta=beta), throw=False)
        assert sol.converged
        gaps.append([abs(getattr(sol, n) - getattr(inf, n)) / (1 + abs(getattr(inf, n)))
                     for n in names])  # fmt: skip
        assert sol.energy == pytest.approx(inf.energy, abs=1e-10)
    gaps = np.array(gaps)
    assert np.all(gaps[0] > 30 * gaps[1]) and np.all(gaps[1] > 30 * gaps[2]), gaps
    assert np.all(gaps[2] < 1e-7), gaps


def test_structured_beta_inf_refusals():
    m = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=math.inf,
                            noise=0.1, design=CovarianceDesign(eigenvalues=TWO_LEVEL))  # fmt: skip
    # VAMP's state evolution runs at noise precision β: refused at β = ∞, naming the parameter
    with pytest.raises(ValueError, match=r"model\.beta"):
        vamp_state_evolution(m)
    with pytest.raises(ValueError, match="model"):
        solve_rs_structured("not a model")


# ----------------------------------------------------------------------------- threshold

GRIDS = [(1, 1.0, 0.1), (2, 1.5, 0.1), (3, 2.0, 0.5), (2, 3.0, 0.0)]


@pytest.mark.parametrize("bits,width,noise", GRIDS)
def test_flat_covariance_interpolation_threshold_is_the_iid_one(bits, width, noise):
    # λ ≡ 1 through the structured code (y∞(α) = α solved numerically, the error's λ-form)
    # against the i.i.d. code: the same root of the same g up to rounding, so 1e-8 (measured
    # ≤ 5e-16)
    m = QuantizedRegression(quantizer=Quantizer.uniform(bits, width), alpha=1.0, beta=1.0,
                            noise=noise)  # fmt: skip
    ref = interpolation_threshold(m)
    got = interpolation_threshold(m.replace(design=CovarianceDesign(eigenvalues=[1.0, 1.0])))
    assert got.status == ref.status == "converged"
    for n in ("alpha_c", "delta", "mse", "gen_error", "residual"):
        assert getattr(got, n) == pytest.approx(getattr(ref, n), rel=1e-8, abs=1e-8), n


@pytest.mark.parametrize("design", STRUCTURED[:2])
@pytest.mark.parametrize("bits,width,noise", [GRIDS[0], GRIDS[2]])
def test_structured_interpolation_threshold_against_the_solver(design, bits, width, noise):
    # the structured β = ∞ solver just below and above α_c: no RS solution at α_c(1 − 1e-3);
    # solutions at α_c(1 + ε), ε = 1e-2, 1e-3, whose χ grows like 1/ε, whose ground-state
    # energy vanishes like ε² (zero training error at α_c), and whose Δ, mse and gen_error
    # approach the threshold's limits linearly in ε (gap shrinks ~10x; < 1e-2 relative at 1e-3)
    m = QuantizedRegression(quantizer=Quantizer.uniform(bits, width), alpha=1.0,
                            beta=math.inf, noise=noise, design=design)  # fmt: skip
    thr = interpolation_threshold(m)
    assert thr.converged and 0 < thr.alpha_c < 1 and thr.residual < 1e-10
    # a non-flat spectrum moves the threshold (with σ² > 0; the test can fail)
    iid = interpolation_threshold(m.replace(design=GaussianDesign()))
    assert abs(thr.alpha_c - iid.alpha_c) > 1e-3
    below = solve_rs(m.replace(alpha=thr.alpha_c * (1 - 1e-3)), throw=False)
    assert below.status == NO_RS_SOLUTION
    sols = [solve_rs(m.replace(alpha=thr.alpha_c * (1 + eps))) for eps in (1e-2, 1e-3)]
    assert all(s.converged for s in sols)
    assert 5 < sols[1].chi / sols[0].chi < 20
    assert 0 <= sols[1].energy < sols[0].energy / 50 and sols[1].energy < 1e-6
    for n in ("delta", "mse", "gen_error"):
        ref = getattr(thr, n)
        gaps = [abs(getattr(s, n) - ref) for s in sols]
        assert gaps[1] < 0.2 * gaps[0] and gaps[1] < 1e-2 * (1 + abs(ref)), (n, gaps)
    # sharper: Richardson's extrapolation 2x(ε) − x(2ε) at ε = 1e-5 removes the linear term;
    # the O(ε²) rest and the solver's 1e-11 (amplified ~1/ε near the threshold) leave ≤ 1e-7
    # (measured ≤ 2.4e-9)
    near = [solve_rs(m.replace(alpha=thr.alpha_c * (1 + eps))) for eps in (1e-5, 2e-5)]
    for n in ("delta", "mse", "gen_error"):
        extrapolated = 2 * getattr(near[0], n) - getattr(near[1], n)
        assert extrapolated == pytest.approx(getattr(thr, n), rel=1e-7, abs=1e-7), n


def test_interpolation_threshold_refuses_what_it_does_not_cover():
    m = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=1.0, beta=1.0, noise=0.1)
    # an atomic law of XᵀX is fixed whatever α: no threshold in α
    with pytest.raises(ValueError, match="SpectralDesign"):
        interpolation_threshold(m.replace(design=SpectralDesign.orthogonal(0.5)))
    with pytest.raises(ValueError, match="ridge"):
        interpolation_threshold(m.replace(ridge=0.1, design=STRUCTURED[1]))


def test_phase_diagram_at_beta_inf_for_structured_designs():
    # the sweep's α line at β = ∞: statuses on both sides of the structured threshold and the
    # alpha_c coordinate equal to interpolation_threshold (the same computation: exact); a
    # design without a threshold in α (an atomic law) is swept without alpha_c
    from replica.phase import phase_diagram

    m = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=1.0, beta=math.inf,
                            noise=0.1, design=STRUCTURED[1])  # fmt: skip
    thr = interpolation_threshold(m)
    ds = phase_diagram(m, alpha=[0.3, 0.6, 1.0, 2.0], executor="serial", progress=False)
    assert list(ds["status"].values) == [NO_RS_SOLUTION] * 2 + ["converged"] * 2
    assert float(ds["alpha_c"]) == thr.alpha_c and 0.6 < thr.alpha_c < 1.0
    atomic = m.replace(design=STRUCTURED[2])
    ds = phase_diagram(atomic, alpha=[0.7, 2.0], executor="serial", progress=False)
    assert "alpha_c" not in ds.coords and len(ds["status"]) == 2


def test_zero_eigenvalues_at_beta_inf():
    # a covariance design with a quarter of zero eigenvalues at α > 1: rank limit 1 − z = 0.75;
    # its no-solution edge (χ = e^40) made the direct solve step onto the pole of the
    # Silverstein function (a divide-by-zero warning, an error under this suite's settings)
    m = QuantizedRegression(quantizer=Quantizer.uniform(3, 4.898309055123789),
                            alpha=4.1138889089510275, beta=math.inf, noise=0.0,
                            design=CovarianceDesign(eigenvalues=np.r_[np.zeros(50), np.ones(150)]))  # fmt: skip
    sol = solve_rs(m, throw=False)
    assert m.design.law(m.alpha).rank_limit == 0.75
    assert sol.status in ("converged", NO_RS_SOLUTION)
    if sol.converged:
        assert sol.D < 0.75 and sol.energy == pytest.approx(0.5 * m.alpha * sol.train_error,
                                                            abs=1e-12)  # fmt: skip
    else:
        assert sol.D >= 0.75


@pytest.mark.parametrize("design,alpha,L", LAWS[2:5] + LAWS[7:8])
def test_spectral_functions_below_the_table(design, alpha, L):
    # below the Chebyshev table (χ < e^{-25}) R, R' come from the expansion at 0 (R(0) = mean,
    # R'(0) solved once): against the direct solve at 1e-12 and 1e-15 (1e-12 relative, the
    # table's own accuracy), and finite without warnings down to the solver's floor e^{-700}
    # (perfect recovery at β = ∞: D → 0, χ → 0, where the direct solve underflowed)
    law = design.law(alpha)
    for chi in (1e-12, 1e-15):
        _, R, dR = law._solve_at_chi(np.array([chi]))
        got = law.point(chi)
        assert got[1] == pytest.approx(R[0], rel=1e-12)
        assert got[2] == pytest.approx(dR[0], rel=1e-12)
        assert law.integrated_r(chi) == pytest.approx(law.mean * chi, rel=1e-9)
    for chi in (1e-300, math.exp(-700)):
        _, R, dR, ddR = law.point(chi)
        assert R == pytest.approx(law.mean, rel=1e-12) and dR > 0 and math.isfinite(ddR)
    # χR(−χ) = D at tiny D (the y-equation without cancellation): 1e-12 relative
    for D in (1e-300, 1e-100, 1e-8):
        chi = law.chi_of_d(D)[0]
        assert chi * law.point(chi)[1] == pytest.approx(D, rel=1e-12)


def test_perfect_sign_recovery_at_beta_inf():
    # a ±1 teacher, a binary grid, σ² = 0 and a covariance design: near its threshold an
    # attempt drives D → 0 and χ → e^{-700}, below the table (it raised a RuntimeWarning)
    from replica.teachers import DiscreteTeacher

    m = QuantizedRegression(quantizer=Quantizer.uniform(1, 0.6633907301456974), alpha=1.0,
                            beta=math.inf, noise=0.0, teacher=DiscreteTeacher(values=[-1.0, 1.0]),
                            design=CovarianceDesign(eigenvalues=[5.0, 0.2]))  # fmt: skip
    thr = interpolation_threshold(m)
    assert thr.converged
    assert solve_rs(m.replace(alpha=thr.alpha_c * 1.001)).converged
    assert solve_rs(m.replace(alpha=thr.alpha_c * 0.999), throw=False).status == NO_RS_SOLUTION


# ------------------------------------------------------------- threshold with zero eigenvalues

ZEROS = np.r_[np.zeros(160), np.linspace(0.5, 2.0, 40)]  # z = 0.8: rank limit min(α, 0.2)


def _richardson(m, alpha, sign, names):
    # 2x(ε) − x(2ε) at α(1 ± ε), ε = 1e-5: the linear term of the approach removed
    a, b = (solve_rs(m.replace(alpha=alpha * (1 + sign * e))) for e in (1e-5, 2e-5))
    return {n: 2 * getattr(a, n) - getattr(b, n) for n in names}


def test_zero_eigenvalue_threshold_against_the_solver():
    # z = 0.8, σ² = 0.1: the RS range is a window α_c < α < α_max around 1 − z = 0.2. At α_c
    # (< 1 − z, the rank is the sample count) the z = 0 derivation with y∞ over all λ; at α_max
    # (> 1 − z, the rank is capped by Σ) D → 1 − z at Δ_L, with the closed-form limits of the
    # docs. Checked by the β = ∞ solver: no RS solution outside the window at ±1e-3, converged
    # inside, and Richardson-extrapolated limits within 1e-7 (the solver's 1e-11 amplified by
    # ~1/ε and the O(ε²) rest; measured ≤ 1e-9)
    from scipy import optimize

    from replica.channel import channel_averages

    m = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=1.0, beta=math.inf,
                            noise=0.1, design=CovarianceDesign(eigenvalues=ZEROS))  # fmt: skip
    thr = interpolation_threshold(m)
    assert thr.converged and 0 < thr.alpha_c < 0.2 < thr.alpha_max < 1.0
    for a, inside in ((thr.alpha_c * (1 - 1e-3), False), (thr.alpha_c * (1 + 1e-3), True),
                      (thr.alpha_max * (1 - 1e-3), True), (thr.alpha_max * (1 + 1e-3), False),
                      (1.0, False), (5.0, False)):  # fmt: skip
        assert solve_rs(m.replace(alpha=a), throw=False).converged == inside, a
    lower = _richardson(m, thr.alpha_c, +1, ("delta", "mse", "gen_error"))
    for n, v in lower.items():
        assert v == pytest.approx(getattr(thr, n), rel=1e-7, abs=1e-7), n
    # upper end: Δ_L from D(Δ) = 1 − z solved here, independently of the threshold's code
    L, s2 = 0.2, 0.1
    levels, mix = m.quantizer.levels, m.teacher.mixture()

    def avg(x):
        return channel_averages(levels, mix, math.exp(x), math.inf, 0.0)

    delta_l = math.exp(optimize.brentq(lambda x: avg(x).D - L, -5, 10, xtol=1e-14))
    upper = _richardson(m, thr.alpha_max, -1, ("delta", "mse", "gen_error", "train_error", "D"))
    # gen: least squares on the range of X (+ the label noise); train: the noise outside it
    want = {"delta": delta_l, "mse": avg(math.log(delta_l)).mse, "D": L,
            "gen_error": s2 * L / (thr.alpha_max - L) + s2,
            "train_error": s2 * (thr.alpha_max - L) / thr.alpha_max}  # fmt: skip
    for n, v in upper.items():
        assert v == pytest.approx(want[n], rel=1e-7, abs=1e-7), n


def test_zero_eigenvalues_without_noise_have_no_threshold():
    # σ² = 0, z = 0.8: D(Δ) ≥ 1 − z wherever ΔD < mse, so no RS solution at any α (the ground
    # state interpolates the data at every α: rank ≤ 0.2N constraints); the solver agrees
    from replica.boundaries import NO_THRESHOLD
    from replica.errors import ConvergenceError

    m = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=1.0, beta=math.inf,
                            noise=0.0, design=CovarianceDesign(eigenvalues=ZEROS))  # fmt: skip
    thr = interpolation_threshold(m, throw=False)
    assert thr.status == NO_THRESHOLD and thr.alpha_c == math.inf
    with pytest.raises(ConvergenceError, match="no RS solution at any alpha"):
        interpolation_threshold(m)
    for a in (0.1, 0.2, 0.3, 3.0):
        assert solve_rs(m.replace(alpha=a), throw=False).status == NO_RS_SOLUTION, a
    # with z = 0.5 the same grid has a threshold below 1 − z and no upper end (k < 0 at Δ_L)
    half = m.replace(design=CovarianceDesign(eigenvalues=np.r_[np.zeros(40), ZEROS[160:]]))
    thr = interpolation_threshold(half)
    assert thr.converged and thr.alpha_c < 0.5 and thr.alpha_max == math.inf
    for a in (thr.alpha_c * (1 + 1e-3), 0.6, 5.0):
        assert solve_rs(half.replace(alpha=a)).converged


@pytest.mark.parametrize("bits,width,noise", [GRIDS[0], GRIDS[2]])
def test_zero_eigenvalue_threshold_is_continuous_at_z0(bits, width, noise):
    # one zero among 100 and among 1000 positive eigenvalues against the same positive
    # eigenvalues alone: the zero changes y∞ and the law by O(z), so the gap must shrink ~10x
    # from z = 1/101 to 1/1001 (between 5x and 20x) and be below 10z(1 + |x|) (measured ≤ 2z)
    pos = np.linspace(0.5, 2.0, 1000)
    m = QuantizedRegression(quantizer=Quantizer.uniform(bits, width), alpha=1.0, beta=math.inf,
                            noise=noise)  # fmt: skip
    gaps = []
    for lam in (pos[::10], pos):
        z = 1.0 / (lam.size + 1)
        ref = interpolation_threshold(m.replace(design=CovarianceDesign(eigenvalues=lam)))
        with_zero = CovarianceDesign(eigenvalues=np.r_[0.0, lam])
        got = interpolation_threshold(m.replace(design=with_zero))
        assert got.converged and got.alpha_max == ref.alpha_max == math.inf
        gap = [abs(getattr(got, n) - getattr(ref, n)) for n in ("alpha_c", "delta", "gen_error")]
        for n, g in zip(("alpha_c", "delta", "gen_error"), gap):
            assert g < 10 * z * (1 + abs(getattr(ref, n))), (n, g, z)
        gaps.append(gap)
    assert all(5 < a / b < 20 for a, b in zip(*gaps)), gaps


@pytest.mark.parametrize("alpha", [0.1, 0.15, 0.5, 3.0])
def test_zero_eigenvalue_rank_limit_expansions(alpha):
    # χR(−χ) = L − c/χ + O(1/χ²) with the constants the threshold uses: α < 1 − z: L = α,
    # c = y∞ (threshold_constant, zeros included); α > 1 − z: L = 1 − z,
    # c = z(1 − z)E₊[1/λ]/(α − 1 + z). From the direct solve at χ = 1e6, 2e6, Richardson's
    # 2c(2χ) − c(χ) removes the O(1/χ) term of c; the O(1/χ²) rest (largest near α = 1 − z)
    # and rounding (~1e-16 χ) leave ≤ 1e-7 relative (measured ≤ 3.5e-9)
    from replica.designs import threshold_constant

    design = CovarianceDesign(eigenvalues=ZEROS)
    law = design.law(alpha)
    z = 0.8
    if alpha < 1 - z:
        L, c = alpha, threshold_constant(design, alpha)
    else:
        L, c = 1 - z, z * (1 - z) * np.mean(1 / ZEROS[ZEROS > 0]) / (alpha - 1 + z)
        with pytest.raises(ValueError, match="alpha"):
            threshold_constant(design, alpha)
    assert law.rank_limit == pytest.approx(L, abs=1e-15)
    cs = [chi * (L - chi * law._solve_at_chi(np.array([chi]))[1][0]) for chi in (1e6, 2e6)]
    assert 2 * cs[1] - cs[0] == pytest.approx(c, rel=1e-7)


def test_phase_diagram_records_alpha_max():
    # a β = ∞, λ = 0 α line with the z = 0.8 zero-eigenvalue design (RS window α_c < α < α_max
    # around 1 − z): the alpha_max coordinate is interpolation_threshold's (the same deterministic
    # computation: exact), finite, and the statuses follow the window; an i.i.d. design records
    # alpha_max = inf (documented: no upper end); a finite β records neither end
    from replica.phase import phase_diagram

    m = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=1.0, beta=math.inf,
                            noise=0.1, design=CovarianceDesign(eigenvalues=ZEROS))  # fmt: skip
    thr = interpolation_threshold(m)
    alphas = [thr.alpha_c / 2, (thr.alpha_c + thr.alpha_max) / 2, 2 * thr.alpha_max]
    ds = phase_diagram(m, alpha=alphas, executor="serial", progress=False)
    assert float(ds["alpha_max"]) == thr.alpha_max and math.isfinite(thr.alpha_max)
    assert float(ds["alpha_c"]) == thr.alpha_c
    assert list(ds["status"].values) == [NO_RS_SOLUTION, "converged", NO_RS_SOLUTION]
    iid = phase_diagram(m.replace(design=GaussianDesign()), alpha=[0.5, 2.0], executor="serial",
                        progress=False)  # fmt: skip
    assert float(iid["alpha_max"]) == math.inf
    assert (
        float(iid["alpha_c"]) == interpolation_threshold(m.replace(design=GaussianDesign())).alpha_c
    )
    # β swept: the ends are taken from the β = ∞ points only, per width; none at finite β alone
    ds = phase_diagram(m, beta=[2.0, math.inf], width=[1.0, 1.5], alpha=[0.5], executor="serial",
                       progress=False)  # fmt: skip
    for w in (1.0, 1.5):
        ref = interpolation_threshold(m.replace(quantizer=Quantizer.uniform(1, w)))
        assert float(ds["alpha_max"].sel(width=w)) == ref.alpha_max, w
    finite = phase_diagram(m.replace(beta=2.0), alpha=[0.5, 2.0], executor="serial",
                           progress=False)  # fmt: skip
    assert "alpha_c" not in finite.coords and "alpha_max" not in finite.coords
