"""``replica quantizer``, ``replica rs`` and ``replica advise``: the theory at one point."""

from __future__ import annotations

from ._args import _add_grid_args, _beta, _positive, _quantizer_from_args


def _cmd_quantizer(args) -> int:
    import math

    if not (math.isfinite(args.var) and args.var >= 0):
        raise ValueError(f"--var: expected a variance >= 0, got {args.var:g}")
    if not math.isfinite(args.mean):
        raise ValueError(f"--mean: expected a finite number, got {args.mean:g}")
    q = _quantizer_from_args(args)
    print(q.describe(args.mean, args.var))
    return 0


def _cmd_rs(args) -> int:

    from ..regression import QuantizedRegression, solve_rs

    model = QuantizedRegression(
        quantizer=_quantizer_from_args(args),
        alpha=args.alpha,
        beta=_beta(args.beta),
        noise=args.noise,
        ridge=args.ridge,
    )
    sol = solve_rs(model, throw=False, init=None if args.init == "auto" else args.init)
    print(f"model       {model.quantizer.name}, alpha={model.alpha:g}, beta={model.beta:g}, "
          f"noise={model.noise:g}, ridge={model.ridge:g}")  # fmt: skip
    print(
        f"status      {sol.status} after {sol.n_iter} map evaluations, residual "
        f"{sol.residual:.2e} (branch: {sol.branch})"
    )
    if sol.status == "no_rs_solution":
        print(f"no RS solution: D = {sol.D:.6g} >= alpha at beta = inf (below the interpolation "
              "threshold; use a finite --beta)")  # fmt: skip
        return 1
    for name in ("gen_error", "train_error", "mse", "m", "q", "Q", "chi", "D", "free_energy",
                 "entropy", "at"):  # fmt: skip
        print(f"{name:<11s} {getattr(sol, name):.10g}")
    found = [b for b in sol.branches if b.status == "converged"]
    if len(found) > 1:
        print(f"branches    {len(found)} RS fixed points; the lowest free energy is returned:")
        for b in found:
            print(f"              {b.start:<13s} f={b.free_energy:.10g}  mse={b.mse:.6g}  "
                  f"at={b.at:.4g}  entropy={b.entropy:.4g}")  # fmt: skip
    print(f"stability   {stability_verdict(sol)}")
    return 0 if sol.converged else 1


def stability_verdict(sol) -> str:
    """One line: whether RS is stable and, if not, why (AT, entropy or both)."""
    if sol.rs_stable:
        return "RS stable (AT < 1, entropy >= 0)"
    return {
        "AT": "RS unstable (AT >= 1): replica symmetry breaking",
        "entropy": "RS unstable (entropy < 0 with AT < 1): entropy crisis, a freezing "
        "(discontinuous) RSB transition that AT cannot see",
        "AT and entropy": "RS unstable (AT >= 1 and entropy < 0): replica symmetry breaking "
        "and entropy crisis",
    }[sol.instability]


def _spectrum_design(path):
    """``CovarianceDesign`` from a ``.npy`` or text file of covariance eigenvalues (None
    without ``--spectrum``)."""
    if path is None:
        return None
    from pathlib import Path

    import numpy as np

    from ..designs import CovarianceDesign

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"--spectrum: expected an existing .npy or text file, got {path!r}")
    try:
        lam = np.load(p) if p.suffix == ".npy" else np.loadtxt(p)
    except (OSError, ValueError) as exc:
        raise ValueError(f"--spectrum: expected eigenvalues (.npy or whitespace-separated text) "
                         f"in {path!r}, could not read them ({exc})") from None  # fmt: skip
    try:
        return CovarianceDesign(eigenvalues=lam)
    except ValueError as exc:
        raise ValueError(f"--spectrum: {exc}") from None


def _cmd_advise(args) -> int:
    import math

    import numpy as np

    from ..boundaries import has_interpolation_threshold, interpolation_threshold
    from ..dynamics import STEProblem, max_stable_lr
    from ..optimize import optimal_width
    from ..quantizers import Quantizer
    from ..regression import QuantizedRegression, solve_rs

    # validate everything before printing anything
    _positive("--input-width", args.input_width)
    _positive("--max-width", args.max_width)
    design = _spectrum_design(args.spectrum)
    model = QuantizedRegression(
        quantizer=Quantizer.uniform(args.bits, 1.0),
        alpha=args.alpha,
        beta=_beta(args.beta),
        noise=args.noise,
        ridge=args.ridge,
        **({} if design is None else {"design": design}),
    )
    q_in = Quantizer.uniform(args.bits, args.input_width)
    # a minimum on the search bound is not an answer: widen the search (x4, three times)
    lo, hi = 0.05, args.max_width
    opt = optimal_width(model, bounds=(lo, hi), throw=False)
    for _ in range(3):
        if opt.status != "at_bound":
            break
        if opt.width >= hi * (1 - 1e-6):
            hi *= 4.0
        elif lo > 1e-4:
            lo /= 10.0
        else:
            break
        opt = optimal_width(model, bounds=(lo, hi), throw=False)
    ground = (
        math.isinf(model.beta) and model.ridge == 0 and has_interpolation_threshold(model.design)
    )
    note = None
    if ground and opt.status == "rs_unsolved":
        # at β = ∞ the RS ground state exists for α_c(ω) < α < α_max(ω) only (outside, the data
        # are interpolated): search the widths where the model's α is inside
        def inside(w):
            t = interpolation_threshold(model.replace(quantizer=Quantizer.uniform(args.bits, w)),
                                        throw=False)  # fmt: skip
            return t.alpha_c < model.alpha < t.alpha_max

        ok = [w for w in np.geomspace(lo, hi, 25) if inside(w)]
        note = (f"  no RS ground state at some widths in [{lo:g}, {hi:g}]: alpha={model.alpha:g} "
                "is outside their range (alpha_c, alpha_max), where the data are interpolated")  # fmt: skip
        if ok:
            lo, hi = min(ok), max(ok)
            opt = optimal_width(model, bounds=(lo, hi), throw=False)
    print(f"{args.bits}-bit weights, uniform grid, alpha={model.alpha:g}, beta={model.beta:g}, "
          f"noise={model.noise:g}, ridge={model.ridge:g}")  # fmt: skip
    if args.spectrum is not None:
        lam = np.asarray(design.eigenvalues)
        print(f"  inputs: covariance spectrum {args.spectrum} ({lam.size} eigenvalues, mean "
              f"{lam.mean():.4g}, max/min {lam.max():.4g}/{lam.min():.4g}; generic eigenvectors)")  # fmt: skip
    print(f"  optimal width      {opt.width:.6g}   (status {opt.status}; searched "
          f"[{lo:g}, {hi:g}])")  # fmt: skip
    if opt.status == "at_bound":
        print(f"  the error still decreases at the search bound {opt.width:g}: the optimum lies "
              "beyond it (search further with --max-width)")  # fmt: skip
    print(f"  gen. error there   {opt.gen_error:.6g}")
    if note is not None:
        print(note)
    if ground:
        t = interpolation_threshold(model.replace(quantizer=opt.quantizer), throw=False)
        top = f"{t.alpha_max:.6g}" if math.isfinite(t.alpha_max) else "inf"
        print(f"  RS ground state at this width for {t.alpha_c:.6g} < alpha < {top} "
              f"(interpolation threshold: status {t.status})")  # fmt: skip
    sol = opt.solution
    print(f"  RS stability       AT = {opt.at:.4g}, entropy = {sol.entropy:.4g}: "
          f"{stability_verdict(sol)}")  # fmt: skip
    if not opt.at < 1:
        # the width above minimises the RS error; say what a stable choice would be
        widths = np.geomspace(lo, hi, 25)
        ats = []
        for w in widths:
            sol = solve_rs(model.replace(quantizer=Quantizer.uniform(args.bits, w)), throw=False)
            ats.append(sol.at if sol.converged else math.inf)
        ok = [w for w, a in zip(widths, ats) if a < 1]
        if ok:
            best = optimal_width(model, bounds=(min(ok), max(ok)), throw=False)
            edge = "; on the AT line's side" if best.status == "at_bound" else ""
            print(f"  smallest error among RS-stable widths: width {best.width:.6g}, "
                  f"gen. error {best.gen_error:.6g}, AT = {best.at:.4g}\n"
                  f"    (searched [{min(ok):.4g}, {max(ok):.4g}], where AT < 1{edge})")  # fmt: skip
        else:
            why = (" (at beta = inf, AT = inf for the RS ground state of discrete weights)"
                   if math.isinf(model.beta) else "")  # fmt: skip
            rsb = ("replica.solve_1rsb gives the 1RSB correction" if design is None else
                   "1RSB is not implemented for a --spectrum design")  # fmt: skip
            print(f"  RS is unstable at every width in [{lo:g}, {hi:g}]{why}.\n"
                  "    The width above minimises the RS prediction, only an approximation "
                  f"there:\n    {rsb}; a finite --beta may have RS-stable widths")  # fmt: skip
    eta_c = max_stable_lr(STEProblem(input_quantizer=q_in, eta=1.0, ridge=args.ridge))
    eta_0 = max_stable_lr(STEProblem(eta=1.0, ridge=args.ridge))
    print(
        f"STE training with {args.bits}-bit inputs on [-{args.input_width:g}, {args.input_width:g}]:"
    )
    print(f"  max stable learning rate  {eta_c:.6g}   (unquantized {eta_0:.6g})")
    print("  with quantized weights only, the STE limit dynamics cannot blow up (bounded drift)")
    return 0 if opt.converged else 1


def register(sub) -> None:
    """Add the ``quantizer``, ``rs`` and ``advise`` subcommands."""
    q = sub.add_parser(
        "quantizer",
        help="print a quantizer's levels, thresholds and exact Gaussian moments",
        description="Build a quantizer grid and print its levels, thresholds and the exact "
        "moments E[psi(z)], E[psi(z)^2], E[z psi(z)] for z ~ N(mean, var).",
    )
    _add_grid_args(q)
    q.add_argument("--mean", type=float, default=0.0, help="mean of z (default 0)")
    q.add_argument("--var", type=float, default=1.0, help="variance of z (default 1)")
    q.set_defaults(func=_cmd_quantizer)

    rs = sub.add_parser(
        "rs",
        help="solve the replica-symmetric theory of weight-quantized regression at one point",
        description="Solve the RS saddle point of quantized linear regression (Kashiwamura et al. "
        "2024) and print errors, order parameters, free energy and AT stability.",
    )
    _add_grid_args(rs)
    rs.add_argument("--alpha", type=float, default=2.0, help="samples per weight M/N (default 2)")
    rs.add_argument("--beta", default="5", help="inverse temperature, or 'inf' (default 5)")
    rs.add_argument("--noise", type=float, default=0.1, help="label-noise variance (default 0.1)")
    rs.add_argument("--ridge", type=float, default=0.0, help="ridge lambda (default 0)")
    rs.add_argument(
        "--init",
        choices=("auto", "uninformative", "informative"),
        default="auto",
        help="auto (default): the equilibrium branch (every start tried, lowest free energy "
        "returned, the others listed); uninformative / informative: one start only",
    )
    rs.set_defaults(func=_cmd_rs)

    ad = sub.add_parser(
        "advise",
        help="with b bits: optimal quantization width, RS stability, maximal stable learning rate",
        description="Practitioner summary for b-bit quantization: the generalization-optimal width "
        "of a uniform weight grid (replica theory), whether replica symmetry holds there (AT), and "
        "the maximal stable STE learning rate with b-bit inputs.",
    )
    ad.add_argument("--bits", type=int, required=True, help="bits b")
    ad.add_argument("--alpha", type=float, default=2.0, help="samples per weight (default 2)")
    ad.add_argument("--beta", default="5", help="inverse temperature or 'inf' (default 5)")
    ad.add_argument("--noise", type=float, default=0.1, help="label-noise variance (default 0.1)")
    ad.add_argument("--ridge", type=float, default=0.0, help="ridge lambda (default 0)")
    ad.add_argument(
        "--input-width", type=float, default=2.0, help="input range for STE (default 2)"
    )
    ad.add_argument("--max-width", type=float, default=6.0,
                    help="upper end of the width search (default 6; widened x4 up to three "
                    "times while the optimum sits on it)")  # fmt: skip
    ad.add_argument("--spectrum", default=None, metavar="FILE",
                    help="eigenvalues of your inputs' covariance (.npy or text; standardise the "
                    "features first): rows x ~ N(0, Sigma/N) with generic eigenvectors, used as "
                    "given")  # fmt: skip
    ad.set_defaults(func=_cmd_advise)
