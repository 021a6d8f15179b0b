"""Structured designs: spectral laws of XᵀX (replica.designs) and the RS theory for
right-rotationally invariant designs (replica.structured)."""

import math

import numpy as np
import pytest

from replica import QuantizedRegression, Quantizer, solve_rs
from replica.designs import CovarianceDesign, GaussianDesign, SpectralDesign
from replica.structured import solve_rs_structured, vamp_state_evolution


def power_law(L=300):
    lam = 1.0 / np.arange(1, L + 1)
    return lam * (L / lam.sum())  # explicit normalisation by the test: mean 1


def test_design_validation():
    with pytest.raises(ValueError, match="eigenvalues"):
        CovarianceDesign(eigenvalues=[-1.0, 2.0])
    with pytest.raises(ValueError, match="eigenvalues"):
        CovarianceDesign(eigenvalues=[np.nan])
    with pytest.raises(ValueError, match="weights"):
        SpectralDesign(xtx_eigenvalues=[1.0, 2.0], weights=[0.5, 0.6])
    with pytest.raises(ValueError, match="design"):
        QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=2, beta=1, noise=0.1,
                            design="iid")  # fmt: skip
    m = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=0.5, beta=1, noise=0.1,
                            design=SpectralDesign(xtx_eigenvalues=[1.0]))  # fmt: skip
    with pytest.raises(ValueError, match="min\\(1, alpha\\)"):
        m.design.law(m.alpha)  # full-rank XᵀX law with M < N: impossible
    # default unchanged, eigenvalues used as given
    assert isinstance(m.replace(design=GaussianDesign()).design, GaussianDesign)
    assert CovarianceDesign(eigenvalues=[3.0, 1.0]).eigenvalues == (3.0, 1.0)
    assert "2 values" in repr(CovarianceDesign(eigenvalues=[3.0, 1.0]))


def test_flat_covariance_is_marchenko_pastur():
    # the Silverstein solver with λ ≡ 1 against MP's closed forms (tolerance: the η-continuation
    # stops at η = 1e-10·mean, which smooths the density by ~1e-10 relative; 1e-8 absolute)
    a = 2.0
    flat = CovarianceDesign(eigenvalues=np.ones(4)).law(a)
    chi = np.array([0.05, 0.7, 3.0, 40.0])
    _, R, dR = flat.at_chi(chi)
    np.testing.assert_allclose(R, a / (1 + chi), rtol=1e-12)
    np.testing.assert_allclose(dR, a / (1 + chi) ** 2, rtol=1e-10)
    assert flat.integrated_r(3.0) == pytest.approx(a * math.log(4.0), rel=1e-12)
    x = np.linspace(0.1, 6.0, 13)
    lo, hi = (math.sqrt(a) - 1) ** 2, (math.sqrt(a) + 1) ** 2
    mp = np.sqrt(np.clip((hi - x) * (x - lo), 0, None)) / (2 * math.pi * x)
    np.testing.assert_allclose(flat.density(x), mp, atol=1e-8)


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_silverstein_law_against_sampled_spectrum(alpha):
    # KS distance between the solved law of XᵀX and the eigenvalues of one sampled matrix:
    # finite-N fluctuations of the empirical CDF are O(1/N) in the bulk, so it must shrink
    # clearly (by > 2x from N = 150 to 600) and be below 1e-2 at N = 600
    design = CovarianceDesign(eigenvalues=power_law())
    law = design.law(alpha)
    assert law.cdf(np.array([1e9]))[0] == pytest.approx(1.0, abs=1e-4)  # total mass
    ks = []
    for N in (150, 600):
        X = design.sample(round(alpha * N), N, np.random.default_rng(N))
        ev = np.sort(np.linalg.eigvalsh(X.T @ X))
        F = law.cdf(ev)
        pos = ev > 1e-9 * ev.max()  # the atom at 0 (α < 1) is exact on both sides
        upper, lower = np.arange(1, N + 1) / N, np.arange(N) / N
        ks.append(max(np.max(np.abs(F - upper)[pos]), np.max(np.abs(F - lower)[pos])))
    assert ks[1] < 0.5 * ks[0] and ks[1] < 1e-2, ks


POINTS = [  # (bits, width, alpha, beta): RS-stable and AT-unstable (at > 1) points
    (1, 0.5, 2.0, 5.0), (2, 1.5, 2.0, 5.0), (2, 3.0, 2.0, 5.0), (3, 2.0, 2.0, 5.0),
    (2, 1.0, 0.7, 2.0), (1, 1.0, 1.5, 10.0),
]  # fmt: skip


@pytest.mark.parametrize("bits,width,alpha,beta", POINTS)
def test_iid_design_reproduces_solve_rs(bits, width, alpha, beta):
    # the structured path with λ ≡ 1 (Silverstein solver) and the Gaussian design (closed
    # form) against today's solve_rs: both solve to 1e-11 in ln Δ, ln χ, so 1e-10 absolute
    m = QuantizedRegression(quantizer=Quantizer.uniform(bits, width), alpha=alpha, beta=beta,
                            noise=0.1)  # fmt: skip
    ref = solve_rs(m)
    names = ("mse", "m", "q", "Q", "chi", "delta", "gen_error", "train_error", "free_energy",
             "energy", "entropy", "at")  # fmt: skip
    for design in (GaussianDesign(), CovarianceDesign(eigenvalues=[1.0, 1.0])):
        sol = solve_rs_structured(m.replace(design=design))
        assert sol.converged
        for n in names:
            assert getattr(sol, n) == pytest.approx(getattr(ref, n), abs=1e-10, rel=1e-10), n
    # VAMP's state evolution, iterated to 1e-13 in ln γ₁, ln τ₁ (measured ≤ 1.2e-12)
    se = vamp_state_evolution(m, tol=1e-13, max_iter=3000)
    for n in ("mse", "chi", "delta", "gen_error", "free_energy", "at"):
        assert getattr(se, n) == pytest.approx(getattr(ref, n), abs=1e-10, rel=1e-10), n
    assert (ref.at > 1) == (se.at > 1)


@pytest.mark.parametrize("lam", [power_law(), np.r_[np.full(100, 3.0), np.full(100, 0.5)]])
def test_vamp_state_evolution_fixed_point_is_the_saddle_point(lam):
    m = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0, noise=0.1,
                            design=CovarianceDesign(eigenvalues=lam))  # fmt: skip
    sol = solve_rs_structured(m)
    se = vamp_state_evolution(m)
    # both solve their equations to ≤ 1e-10 relative: agreement to 1e-8
    for n in ("mse", "chi", "delta", "gen_error", "train_error", "free_energy", "at"):
        assert getattr(se, n) == pytest.approx(getattr(sol, n), rel=1e-8, abs=1e-9), n
    # a non-flat spectrum changes the answer (the test can fail)
    assert abs(sol.mse - solve_rs(m.replace(design=GaussianDesign())).mse) > 1e-3


def test_optimal_width_for_a_structured_design_matches_a_dense_scan():
    # optimal_width (scan + Brent to xtol 1e-6) against a dense scan of the same theory
    # (spacing 0.005): the scan's minimum lies within one spacing of ω*, and its value is not
    # below ε_g(ω*) by more than the RS tolerance (1e-9)
    from replica.optimize import optimal_width

    m = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0, noise=0.1,
                            design=CovarianceDesign(eigenvalues=power_law()))  # fmt: skip
    opt = optimal_width(m, bounds=(0.5, 3.0))
    assert opt.converged
    widths = np.arange(opt.width - 0.1, opt.width + 0.1, 0.005)
    gens = [solve_rs(m.replace(quantizer=Quantizer.uniform(2, float(w)))).gen_error
            for w in widths]  # fmt: skip
    assert abs(widths[int(np.argmin(gens))] - opt.width) <= 0.005 + 1e-9
    assert min(gens) >= opt.gen_error - 1e-9
    # the design moves the optimum away from the i.i.d. one (the test can fail)
    iid = optimal_width(m.replace(design=GaussianDesign()), bounds=(0.5, 3.0))
    assert abs(iid.width - opt.width) > 0.01


def test_advise_with_a_spectrum_file(tmp_path, capsys):
    from replica.cli import main

    lam = power_law()
    np.save(tmp_path / "spec.npy", lam)
    np.savetxt(tmp_path / "spec.txt", lam)
    m = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.0), alpha=2.0, beta=5.0, noise=0.1,
                            design=CovarianceDesign(eigenvalues=lam))  # fmt: skip
    from replica.optimize import optimal_width

    want = optimal_width(m, bounds=(0.05, 6.0))
    for f in ("spec.npy", "spec.txt"):
        assert main(["advise", "--bits", "2", "--spectrum", str(tmp_path / f)]) == 0
        out = capsys.readouterr().out
        assert "300 eigenvalues" in out and f"optimal width      {want.width:.6g}" in out
    assert main(["advise", "--bits", "2", "--spectrum", str(tmp_path / "missing.txt")]) == 2
    assert "--spectrum" in capsys.readouterr().err
    # β = ∞ (the structured ground state) is answered too, without suggesting 1RSB (i.i.d. only)
    inf = ["advise", "--bits", "2", "--beta", "inf", "--spectrum", str(tmp_path / "spec.txt")]
    assert main(inf) == 0
    out = capsys.readouterr().out
    assert "beta=inf" in out and "1RSB is not implemented for a --spectrum design" in out


def test_advise_at_beta_inf_with_zero_eigenvalues(tmp_path, capsys):
    # a quarter of zero eigenvalues (collinear features): at β = ∞ and α = 2 > 1 − z the RS
    # ground state exists only at widths where α < alpha_max(ω) (wide grids interpolate the part
    # of the data inside the range of X); advise searches those widths and says so, and its
    # answer is the structured solver's at the reported width (printed to 6 digits)
    from replica.boundaries import interpolation_threshold
    from replica.cli import main

    lam = np.r_[np.zeros(50), power_law(150)]
    np.savetxt(tmp_path / "spec.txt", lam)
    args = ["advise", "--bits", "2", "--beta", "inf", "--max-width", "3", "--spectrum",
            str(tmp_path / "spec.txt")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "status converged" in out and "outside their range (alpha_c, alpha_max)" in out
    width = float(out.split("optimal width")[1].split()[0])
    gen = float(out.split("gen. error there")[1].split()[0])
    m = QuantizedRegression(quantizer=Quantizer.uniform(2, width), alpha=2.0, beta=math.inf,
                            noise=0.1, design=CovarianceDesign(eigenvalues=lam))  # fmt: skip
    assert solve_rs(m).gen_error == pytest.approx(gen, rel=1e-5)
    thr = interpolation_threshold(m)
    assert thr.alpha_c < 2.0 < thr.alpha_max
    assert f"RS ground state at this width for {thr.alpha_c:.6g} < alpha" in out
    # a wider grid at the same α has no RS ground state: the case the search had to avoid
    wide = m.replace(quantizer=Quantizer.uniform(2, 3.0))
    assert interpolation_threshold(wide).alpha_max < 2.0
    assert solve_rs(wide, throw=False).status == "no_rs_solution"


def test_boundaries_accept_a_design():
    # at_boundary works through solve_rs's dispatch: the structured AT quantity is 1 there
    # (to the root finder's xtol 1e-8 in ω times the slope of AT, ~1: tolerance 1e-6)
    from replica import at_boundary

    m = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0, noise=0.1,
                            design=CovarianceDesign(eigenvalues=power_law()))  # fmt: skip
    b = at_boundary(m)
    at = solve_rs(m.replace(quantizer=Quantizer.uniform(2, b.value))).at
    assert at == pytest.approx(1.0, abs=1e-6)
    iid = at_boundary(m.replace(design=GaussianDesign()))
    assert abs(iid.value - b.value) > 0.05  # the spectrum moves the AT line


def test_iid_only_computations_refuse_a_structured_design():
    # (interpolation_threshold accepts covariance designs: tests/test_designs_inf.py)
    from replica import amp, solve_1rsb, solve_tap

    m = QuantizedRegression(quantizer=Quantizer.uniform(1, 1.0), alpha=2.0, beta=5.0, noise=0.1,
                            design=CovarianceDesign(eigenvalues=[2.0, 0.5]))  # fmt: skip
    for f in (solve_1rsb, solve_tap, amp.state_evolution):
        with pytest.raises(ValueError, match=r"model\.design"):
            f(m)


def test_spectral_design_from_singular_values_of_an_iid_matrix():
    # the law of XᵀX given as the N eigenvalues of one sampled i.i.d. matrix (N = 1000) is the
    # MP law up to O(1/N) fluctuations and edge effects: theory within 2e-3 of the i.i.d.
    # prediction (measured 1.5e-4); the orthogonal design differs (the test can fail)
    N = 1000
    X = np.random.default_rng(0).standard_normal((2 * N, N)) / np.sqrt(N)
    d = SpectralDesign.from_singular_values(np.linalg.svd(X, compute_uv=False), N)
    m = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0, noise=0.1)
    iid = solve_rs(m)
    assert solve_rs(m.replace(design=d)).mse == pytest.approx(iid.mse, abs=2e-3)
    orth = solve_rs(m.replace(design=SpectralDesign.orthogonal(2.0)))
    assert orth.converged and abs(orth.mse - iid.mse) > 1e-2


def test_phase_diagram_sweeps_a_structured_design():
    # the sweep carries the design to its workers (design_spec): every point equals solve_rs of
    # the same model (both solve to 1e-11 in the log variables: 1e-9)
    from replica import phase_diagram

    m = QuantizedRegression(quantizer=Quantizer.uniform(2, 1.5), alpha=2.0, beta=5.0, noise=0.1,
                            design=CovarianceDesign(eigenvalues=power_law()))  # fmt: skip
    ds = phase_diagram(m, width=[1.0, 2.0, 4.0], bits=[2], progress=False, max_workers=1)
    for w in (1.0, 2.0, 4.0):
        sol = solve_rs(m.replace(quantizer=Quantizer.uniform(2, w)))
        for k in ("at", "gen_error"):
            assert float(ds[k].sel(bits=2, width=w)) == pytest.approx(getattr(sol, k), rel=1e-9)


@pytest.mark.parametrize(
    "design",
    [CovarianceDesign(eigenvalues=power_law()), SpectralDesign.orthogonal(2.0)],
    ids=["power-law", "orth"],
)
def test_structured_thermodynamics_are_consistent(design):
    # the energy is ∂(βf)/∂β (the envelope theorem at the saddle point), checked by a central
    # difference with h = 1e-4 (truncation ~1e-9; measured differences ≤ 3.5e-10, the i.i.d.
    # design gives the same): validates the free energy, energy and entropy for a non-MP law
    m = QuantizedRegression(quantizer=Quantizer.uniform(2, 3.0), alpha=2.0, beta=5.0, noise=0.1,
                            ridge=0.05, design=design)  # fmt: skip
    sol, h = solve_rs(m), 1e-4
    bf = [b * solve_rs(m.replace(beta=b)).free_energy for b in (5.0 * (1 + h), 5.0 * (1 - h))]
    assert sol.energy == pytest.approx((bf[0] - bf[1]) / (2 * 5.0 * h), abs=3e-9)
    assert sol.entropy == pytest.approx(5.0 * (sol.energy - sol.free_energy), abs=1e-12)
