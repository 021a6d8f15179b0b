"""The per-coordinate limit of STE training: McKean–Vlasov SDE and its Fokker–Planck equation.

In time ``τ = t/d`` each latent coordinate follows (card ``ichikawa2025-ste-dynamics``, "Limit
dynamics")

    dŵ = η g(ŵ) (κ_x w* − γ_x ψ_w(ŵ)) dτ − ηλ r(ŵ) dτ + η g(ŵ) √(γ_x e(τ)) dB,
    e(τ) = ρ + σ² − 2κ_x E[w* ψ_w(ŵ)] + γ_x E[ψ_w(ŵ)²],

exact in the limit (the ODE closure is not needed). :func:`pde` solves it with two
discretisations: interacting particles (Euler–Maruyama, any STE) and finite volumes for the
Fokker–Planck equation ``∂_τ p = −∂_ŵ(a p) + ½η²γ_x e ∂²_ŵ p`` with the Scharfetter–Gummel flux
on faces that include the quantizer thresholds, BDF2 in time (plain STE).

References
----------
.. [1] Y. Ichikawa, S. Kashiwamura, A. Sakata, "High-Dimensional Learning Dynamics of Quantized
   Models with Straight-Through Estimator", arXiv:2510.10693 (2025); paper card
   ``ichikawa2025-ste-dynamics``.
.. [2] D. L. Scharfetter, H. K. Gummel, "Large-signal analysis of a silicon Read diode
   oscillator", IEEE Trans. Electron Devices 16, 64 (1969).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, special

from .. import gauss
from ..errors import check, check_memory, integer, real
from ..quantizers import Quantizer
from ..results import CONVERGED, DIVERGED, Result, finish
from .moments import closure_moments
from .problem import _BLOWUP, STEProblem, _mapper

__all__ = ["PDESolution", "pde"]


@dataclass(frozen=True, kw_only=True)
class PDESolution(Result):
    """Solution of the limiting per-coordinate law.

    Attributes
    ----------
    tau, m, Q, m_psi, q_psi, e, eg : numpy.ndarray
        Time grid, order parameters, mean-square residual ``e`` and generalization error.
    density_tau : numpy.ndarray
        Times at which ``density`` was recorded.
    edges : numpy.ndarray
        Bin edges of the density (``len(edges) − 1`` bins).
    density : numpy.ndarray
        ``(len(density_tau), len(edges) − 1)`` density of ŵ (mixture over the teacher).
    method : str
        ``"particles"`` or ``"grid"``.
    """

    tau: np.ndarray
    m: np.ndarray
    Q: np.ndarray
    m_psi: np.ndarray
    q_psi: np.ndarray
    e: np.ndarray
    eg: np.ndarray
    density_tau: np.ndarray
    edges: np.ndarray
    density: np.ndarray
    method: str

    def to_dataset(self):
        """Labelled :class:`xarray.Dataset` (``tau`` and ``density_tau``/``x`` dimensions)."""
        import xarray as xr

        data = {k: ("tau", getattr(self, k)) for k in ("m", "Q", "m_psi", "q_psi", "e", "eg")}
        x = 0.5 * (self.edges[1:] + self.edges[:-1])
        data["density"] = (("density_tau", "x"), self.density)
        return xr.Dataset(
            data,
            coords={"tau": self.tau, "density_tau": self.density_tau, "x": x},
            attrs={"method": self.method, "status": self.status},
        )


def _psi_bound(problem: STEProblem) -> float:
    t = problem.weight_quantizer
    if isinstance(t, Quantizer):
        return float(np.max(np.abs(t.levels)))
    return float(np.max(np.abs(t(np.linspace(-50, 50, 2001)))))


def _time_grid(t_max, dt, n_points, density_times):
    """Steps of size ≈ dt landing exactly on the output times."""
    tau = np.linspace(0.0, t_max, n_points)
    per = max(1, math.ceil((tau[1] - tau[0]) / dt))
    h = (tau[1] - tau[0]) / per
    dens = np.asarray(sorted(density_times), dtype=float)
    check(bool(np.all((dens >= 0) & (dens <= t_max))), "density_times", "in [0, t_max]", dens)
    dens_steps = np.rint(dens / h).astype(int)
    return tau, per, h, dens_steps


def _default_edges(problem: STEProblem, span):
    lo, hi = span
    return np.linspace(lo, hi, 161)


def _teacher_nodes(problem: STEProblem, n: int):
    if problem.teacher == "constant":
        return np.array([math.sqrt(problem.rho)]), np.array([1.0])
    x, w = gauss.hermite_rule(n)
    return math.sqrt(problem.rho) * x, np.asarray(w)


def _domain(problem: STEProblem, ws, t_max, pad: float):
    """Per-teacher-node interval holding the law up to ``t_max`` (drift bounds + noise margin).

    The noise scale is taken from the initial residual; :func:`pde` checks that no mass reaches
    the ends, so an optimistic guess fails loudly instead of silently.
    """
    eta, kx, gx, lam = problem.eta, problem.kappa_x, problem.gamma_x, problem.ridge
    sd0 = math.sqrt(problem.init)
    lo0, hi0 = problem.init_align * ws - 7 * sd0, problem.init_align * ws + 7 * sd0
    m_psi0, _, q_psi0 = closure_moments(problem, problem.m0, problem.Q0)
    e_est = 2 * max(float(problem.residual(m_psi0, q_psi0)), problem.rho + problem.noise)
    T = eta * gx * e_est / 2  # temperature scale of the law
    walk = 5 * math.sqrt(eta * eta * gx * e_est * t_max)  # free diffusion over [0, t_max]
    if not problem.weight_quantized:
        restore = gx + lam
        margin = min(walk, 5 * math.sqrt(T / restore)) + pad
        target = kx * ws / restore
        return np.minimum(lo0, target) - margin, np.maximum(hi0, target) + margin
    c_lo = float(np.min(problem.psi_w([-1e300])))
    c_hi = float(np.max(problem.psi_w([1e300])))
    if problem.ridge_on == "latent" and lam > 0:
        # the drift points inwards outside [(κw* − γ c_K)/λ, (κw* − γ c_1)/λ]
        margin = min(walk, 5 * math.sqrt(T / lam)) + pad
        lo = np.minimum(lo0, (kx * ws - gx * c_hi) / lam) - margin
        hi = np.maximum(hi0, (kx * ws - gx * c_lo) / lam) + margin
        return np.minimum(lo, c_lo - pad), np.maximum(hi, c_hi + pad)
    # bounded drift: beyond the outer levels it is the constant η(κ_x w* − γ' c_{1,K}); where it
    # points inwards the tail is exponential with length T/slope, otherwise the law drifts out
    gq = gx + (lam if problem.ridge_on == "quantized" else 0.0)
    s_hi, s_lo = gq * c_hi - kx * ws, kx * ws - gq * c_lo
    with np.errstate(divide="ignore"):
        hi = np.where(
            s_hi > 0,
            np.maximum(hi0, c_hi) + 25 * T / np.maximum(s_hi, 0),
            np.maximum(hi0, c_hi) + eta * np.maximum(-s_hi, 0) * t_max + walk,
        )
        lo = np.where(
            s_lo > 0,
            np.minimum(lo0, c_lo) - 25 * T / np.maximum(s_lo, 0),
            np.minimum(lo0, c_lo) - eta * np.maximum(-s_lo, 0) * t_max - walk,
        )
    return lo - pad, hi + pad


def _bernoulli(z):
    """B(z) = z/(e^z − 1), stable for all z (B(0) = 1)."""
    z = np.asarray(z, dtype=float)
    out = np.ones_like(z)
    pos, neg = z > 0, z < 0
    zp = z[pos]
    out[pos] = zp * np.exp(-zp) / -np.expm1(-zp)
    zn = z[neg]
    out[neg] = zn / np.expm1(zn)
    return out


def _histogram_density(w, edges):
    """Density of the empirical law of ``w`` on the bins (mass outside ``edges`` is not
    renormalized away, as for the grid method; no 0/0 when every sample is outside)."""
    w = np.asarray(w)
    counts = np.histogram(w, edges)[0]
    return counts / (w.size * np.diff(edges))


def _pde_particles(problem, tau, per, h, dens_steps, edges, n_particles, seed, record):
    rng = np.random.default_rng(seed)
    eta, kx, gx, lam = problem.eta, problem.kappa_x, problem.gamma_x, problem.ridge
    n = n_particles
    if problem.teacher == "constant":
        ws = np.full(n, math.sqrt(problem.rho))
    else:
        # stratified teacher sample: exact Gaussian quantiles remove the w* sampling noise
        ws = math.sqrt(problem.rho) * special.ndtri((np.arange(n) + 0.5) / n)
    w = problem.init_align * ws + math.sqrt(problem.init) * rng.standard_normal(n)
    lo, hi = problem.clip
    clipped = problem.ste == "clipped" and problem.weight_quantized
    n_steps = per * (tau.size - 1)
    out = {k: np.empty(tau.size) for k in ("m", "Q", "m_psi", "q_psi", "e")}
    dens = []
    psi_w = _mapper(problem.weight_quantizer, np)
    for step in range(n_steps + 1):
        psi = psi_w(w)
        m_psi, q_psi = float(np.vecdot(ws, psi)) / n, float(np.vecdot(psi, psi)) / n
        e = problem.residual(m_psi, q_psi)
        if step % per == 0:
            i = step // per
            out["m"][i], out["Q"][i] = float(np.vecdot(ws, w)) / n, float(np.vecdot(w, w)) / n
            out["m_psi"][i], out["q_psi"][i], out["e"][i] = m_psi, q_psi, e
            if not math.isfinite(e) or abs(out["Q"][i]) > _BLOWUP:
                return out, dens, DIVERGED, i
        if not abs(e) <= _BLOWUP:
            # checked at every step, not only at output times: between two outputs an unstable
            # run (η beyond η_c) would otherwise overflow the particles
            return out, dens, DIVERGED, step // per
        if step in record:
            dens.extend([_histogram_density(w, edges)] * record[step])
        if step == n_steps:
            break
        g = ((w >= lo) & (w <= hi)).astype(float) if clipped else 1.0
        r = w if problem.ridge_on == "latent" else psi * g
        a = eta * g * (kx * ws - gx * psi) - eta * lam * r
        w = w + a * h + eta * g * math.sqrt(gx * max(e, 0.0) * h) * rng.standard_normal(n)
    return out, dens, CONVERGED, tau.size - 1


def _pde_grid(problem, tau, per, h, dens_steps, edges, n_cells, n_teacher, pad, record):
    check(problem.ste == "plain", "ste", "'plain' for method='grid' (use 'particles')", problem.ste)
    check(problem.init > 0, "init", "> 0 for method='grid'", problem.init)
    t = problem.weight_quantizer
    n_th = t.thresholds.size if isinstance(t, Quantizer) else 0
    check(n_cells >= n_th + 1, "n_cells", f">= number of thresholds + 1 = {n_th + 1}", n_cells)
    eta, kx, gx, lam = problem.eta, problem.kappa_x, problem.gamma_x, problem.ridge
    ws, wq = _teacher_nodes(problem, n_teacher)
    M = ws.size
    lo, hi = _domain(problem, ws, tau[-1], pad)
    t = problem.weight_quantizer
    th = t.thresholds if isinstance(t, Quantizer) else np.empty(0)
    faces, psi_c, a_face, xc, hc = [], [], [], [], []
    for j in range(M):
        f = np.linspace(lo[j], hi[j], n_cells + 1)
        hh = f[1] - f[0]
        inside = th[(th > lo[j]) & (th < hi[j])]
        if inside.size:
            near = np.min(np.abs(f[:, None] - inside[None, :]), axis=1) < 0.25 * hh
            near[[0, -1]] = False
            f = np.union1d(f[~near], inside)
        # the inserted thresholds can exceed the cell budget: merge the smallest pairs of cells
        # across non-threshold faces (truncating the array would cut off the end of the domain)
        while f.size > n_cells + 1:
            free = np.nonzero(~np.isin(f[1:-1], inside))[0] + 1
            pair = np.diff(f)[free - 1] + np.diff(f)[free]
            f = np.delete(f, free[int(np.argmin(pair))])
        # keep a fixed number of cells per node so the blocks stack (pad by splitting the widest)
        while f.size < n_cells + 1:
            k = int(np.argmax(np.diff(f)))
            f = np.insert(f, k + 1, 0.5 * (f[k] + f[k + 1]))
        x = 0.5 * (f[1:] + f[:-1])
        pc = problem.psi_w(x)
        fi = f[1:-1]
        pf = problem.psi_w(fi)
        if inside.size:
            at = np.isin(fi, inside)
            # the drift jumps at the face: its mean between the two centres (half-cell weights)
            # makes the zero-flux state exact for a piecewise-constant drift
            hl, hr = np.diff(f)[:-1], np.diff(f)[1:]
            pf = np.where(at, (hl * pc[:-1] + hr * pc[1:]) / (hl + hr), pf)
        r = fi if problem.ridge_on == "latent" else pf
        faces.append(f)
        psi_c.append(pc)
        xc.append(x)
        hc.append(np.diff(f))
        a_face.append(eta * (kx * ws[j] - gx * pf) - eta * lam * r)
    faces, psi_c, xc, hc, a_face = map(np.array, (faces, psi_c, xc, hc, a_face))
    delta = np.diff(xc, axis=1)  # distance between neighbouring centres
    # initial cell masses of N(a w*, init), exact
    cdf = special.ndtr((faces - problem.init_align * ws[:, None]) / math.sqrt(problem.init))
    mass = np.diff(cdf, axis=1)
    mass /= mass.sum(axis=1, keepdims=True)
    p = mass / hc
    out = {k: np.empty(tau.size) for k in ("m", "Q", "m_psi", "q_psi", "e")}
    dens = []

    def moments(p):
        mc = p * hc
        m_psi = float(wq @ (ws * (mc * psi_c).sum(1)))
        q_psi = float(wq @ (mc * psi_c**2).sum(1))
        m = float(wq @ (ws * (mc * xc).sum(1)))
        Q = float(wq @ (mc * (xc**2 + hc**2 / 12)).sum(1))
        return m, Q, m_psi, q_psi, problem.residual(m_psi, q_psi)

    def operator(e):
        kd = max(0.5 * eta * eta * gx * e, 1e-300)
        pe = a_face * delta / kd
        bp, bm = _bernoulli(pe), _bernoulli(-pe)
        c = kd / delta
        # flux J_{i+1/2} = c (B(-Pe) p_i − B(Pe) p_{i+1}); dp_i/dt = −(J_{i+1/2} − J_{i−1/2})/h_i
        up = np.zeros((M, n_cells))
        low = np.zeros((M, n_cells))
        dg = np.zeros((M, n_cells))
        up[:, 1:] = c * bp / hc[:, :-1]  # coefficient of p_{i+1} in row i, stored at column i+1
        low[:, :-1] = c * bm / hc[:, 1:]  # coefficient of p_{i} in row i+1, stored at column i
        dg[:, :-1] -= c * bm / hc[:, :-1]
        dg[:, 1:] -= c * bp / hc[:, 1:]
        return up.ravel(), dg.ravel(), low.ravel()

    n_steps = per * (tau.size - 1)
    e_prev = None
    p_prev = None
    status, last = CONVERGED, tau.size - 1
    for step in range(n_steps + 1):
        m, Q, m_psi, q_psi, e = moments(p)
        if step % per == 0:
            i = step // per
            edge_mass = float(wq @ (p[:, :2] * hc[:, :2] + p[:, -2:] * hc[:, -2:]).sum(1))
            if edge_mass > 1e-6:
                return out, dens, "domain", i - 1
            out["m"][i], out["Q"][i], out["m_psi"][i], out["q_psi"][i], out["e"][i] = (
                m,
                Q,
                m_psi,
                q_psi,
                e,
            )
        if step in record:
            dens_now = np.zeros(edges.size - 1)
            for j in range(M):
                cm = np.concatenate([[0.0], np.cumsum(p[j] * hc[j])])
                dens_now += wq[j] * np.diff(np.interp(edges, faces[j], cm)) / np.diff(edges)
            dens.extend([dens_now] * record[step])
        if step == n_steps:
            break
        # BDF2 with the mean-field coupling extrapolated to the new time level
        e_new = e if e_prev is None else max(2 * e - e_prev, 0.0)
        up, dg, low = operator(e_new)
        if p_prev is None:
            ab = np.array([-h * up, 1 - h * dg, -h * low])  # backward Euler start
            rhs = p.ravel()
        else:
            ab = np.array([-2 * h * up, 3 - 2 * h * dg, -2 * h * low])
            rhs = (4 * p - p_prev).ravel()
        p_new = linalg.solve_banded((1, 1), ab, rhs, check_finite=False).reshape(M, n_cells)
        p_prev, p, e_prev = p, p_new, e
        if not np.all(np.isfinite(p)):
            status, last = DIVERGED, step // per
            break
    return out, dens, status, last


#: most particle-steps (or cell-steps) one pde() call may take: ~10-20 s on one core
_MAX_WORK = 2e10


def pde(
    problem: STEProblem,
    t_max: float,
    method: str = "particles",
    n_points: int = 101,
    dt: float | None = None,
    density_times=(),
    edges=None,
    n_particles: int = 100_000,
    seed: int = 0,
    n_cells: int = 4000,
    n_teacher: int = 48,
    pad: float = 0.5,
    throw: bool = True,
) -> PDESolution:
    """Limiting law of one latent coordinate: McKean–Vlasov SDE by particles or its
    Fokker–Planck equation by finite volumes.

    Parameters
    ----------
    problem : STEProblem
    t_max : float
        Final time ``τ``.
    method : {"particles", "grid"}
        ``"particles"``: Euler–Maruyama for ``n_particles`` interacting particles (the teacher
        values are exact Gaussian quantiles). ``"grid"``: finite volumes with the
        Scharfetter–Gummel flux (exact for a piecewise-constant drift between cell centres,
        positivity preserving) on a grid whose faces include the quantizer thresholds, one
        block per Gauss–Hermite teacher node (``n_teacher``), BDF2 in time with the
        mean-field residual ``e(τ)`` extrapolated; plain STE only.
    n_points : int
        Output grid ``linspace(0, t_max, n_points)``.
    dt : float, optional
        Time step (default ``0.01/(η (γ_x + λ))`` for particles, 4× that for the grid); rounded
        down so that every output time is a step.
    density_times : sequence of float
        Times at which the density of ŵ is stored (on ``edges``).
    edges : array_like, optional
        Bin edges for the density (default: 160 bins over the initial law and quantizer range).
    n_particles, seed :
        Particle method: number of particles and the seed of its generator.
    n_cells, n_teacher, pad :
        Grid method: cells per teacher node, teacher nodes (Gaussian teacher) and extra margin
        added to the automatically chosen domain.
    throw : bool
        Raise :class:`~replica.errors.ConvergenceError` when the solution diverges (status
        ``"diverged"``) or, for the grid, when more than 1e-6 of the mass reaches the ends of
        the automatically chosen domain (status ``"domain"``: increase ``pad``).

    Returns
    -------
    PDESolution

    References
    ----------
    .. [1] Ichikawa, Kashiwamura & Sakata (2025), per-coordinate limit (card, "Limit dynamics").
    .. [2] D. L. Scharfetter, H. K. Gummel, IEEE Trans. Electron Devices 16, 64 (1969).
    """
    check(isinstance(problem, STEProblem), "problem", "an STEProblem", problem)
    check(isinstance(method, str) and method in ("particles", "grid"), "method",
          "'particles' or 'grid'", method)  # fmt: skip
    t_max = real(t_max, "t_max", "a finite time > 0", lambda t: math.isfinite(t) and t > 0)
    n_points = integer(n_points, "n_points", "an integer >= 2", lambda n: n >= 2)
    rate = problem.eta * (problem.gamma_x + problem.ridge)
    if dt is None:
        dt = (0.01 if method == "particles" else 0.04) / rate
    dt = real(dt, "dt", "a finite number > 0", lambda v: math.isfinite(v) and v > 0)
    # the work is steps × (particles or cells): refuse a run of hours (dt = 0.01/η makes η = 1e6
    # take ~1.5 h at the defaults) before starting it
    size = n_particles if method == "particles" else n_cells * n_teacher
    steps = t_max / dt
    if isinstance(size, (int, np.integer)) and steps * max(int(size), 1) > _MAX_WORK:
        raise ValueError(
            f"dt: expected a time step giving at most {_MAX_WORK:.0e} "
            f"{'particle' if method == 'particles' else 'cell'}-steps ({steps:.3g} steps of "
            f"dt = {dt:.3g} to t_max = {t_max:g} for {size} "
            f"{'particles' if method == 'particles' else 'cells'}; the default dt is "
            f"0.01/(eta (gamma_x + ridge)), eta = {problem.eta:g}), got {dt!r}: pass a larger "
            "dt, a smaller t_max or fewer particles/cells"
        )
    tau, per, h, dens_steps = _time_grid(t_max, dt, n_points, density_times)
    record: dict[int, int] = {}
    for s in dens_steps:
        record[int(s)] = record.get(int(s), 0) + 1
    if edges is None:
        cmax = _psi_bound(problem) if problem.weight_quantized else 0.0
        sd = math.sqrt(problem.init)
        span = max(cmax, abs(problem.init_align) * math.sqrt(problem.rho) + 4 * sd) + 0.5
        edges = _default_edges(problem, (-span, span))
    edges = np.asarray(edges, dtype=float)
    check(
        edges.ndim == 1 and edges.size >= 2 and bool(np.all(np.diff(edges) > 0)),
        "edges",
        "increasing bin edges",
        edges,
    )
    if method == "particles":
        check(
            isinstance(n_particles, int) and n_particles >= 100,
            "n_particles",
            ">= 100",
            n_particles,
        )
        # teacher values, weights, their quantized values, drift, noise and a mask per particle
        check_memory(8.0 * 8 * n_particles, "n_particles", f"n_particles={n_particles}")
        out, dens, status, last = _pde_particles(
            problem, tau, per, h, dens_steps, edges, n_particles, seed, record
        )
        n_iter = per * last
    else:
        check(isinstance(n_cells, int) and n_cells >= 10, "n_cells", ">= 10", n_cells)
        check(isinstance(n_teacher, int) and n_teacher >= 1, "n_teacher", ">= 1", n_teacher)
        n_blocks = 1 if problem.teacher == "constant" else n_teacher
        # about a dozen (teacher node × cell) arrays: faces, centres, drift, banded operator, p
        check_memory(
            8.0 * 16 * n_blocks * (n_cells + 1), "n_cells, n_teacher", f"{n_blocks}×{n_cells} cells"
        )
        out, dens, status, last = _pde_grid(
            problem, tau, per, h, dens_steps, edges, n_cells, n_teacher, pad, record
        )
        n_iter = per * max(last, 0)
    k = last + 1
    out = {key: v[:k] for key, v in out.items()}
    eg = problem.generalization_error(out["m_psi"], out["q_psi"])
    res = float(abs(out["e"][-1] - out["e"][-2])) if k >= 2 else math.inf
    sol = PDESolution(
        status=status,
        n_iter=n_iter,
        residual=res,
        tau=tau[:k],
        eg=np.asarray(eg, float),
        density_tau=np.asarray(sorted(density_times), float)[: len(dens)],
        edges=edges,
        density=np.array(dens).reshape(len(dens), edges.size - 1),
        method=method,
        **out,
    )
    return finish(sol, throw, f"pde(method={method!r})")
