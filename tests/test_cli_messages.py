"""The `replica` command's messages (issue 15): each names the option, says what was expected
and what was given; the advice explains itself; reruns say what was resumed."""

from __future__ import annotations

import pytest

from replica.cli import build_parser, main


@pytest.mark.parametrize(
    "argv, needle",
    [
        # name what is missing
        (["rs", "--bits", "2"], "--width: expected a value"),
        (["rs", "--width", "2"], "--bits: expected a value"),
        (["quantizer"], "--bits and --width: expected a value"),
        # bad numbers name their option
        (["quantizer", "--levels=a,b"], "--levels: expected comma-separated numbers"),
        (["rs", "--bits", "2", "--width", "1", "--beta", "abc"],
         "--beta: expected a number > 0 or 'inf', got 'abc'"),
        (["advise", "--bits", "2", "--beta", "-3"], "--beta: expected a number > 0"),
        (["quantizer", "--bits", "2", "--width", "1", "--var", "-1"],
         "--var: expected a variance >= 0, got -1"),
        (["advise", "--bits", "2", "--input-width", "0"],
         "--input-width: expected a number > 0, got 0"),
    ],
)  # fmt: skip
def test_errors_name_the_option(argv, needle, capsys):
    assert main(argv) == 2
    out = capsys.readouterr()
    assert needle in out.err, out.err
    assert "array(" not in out.err
    assert out.out == ""  # validated before anything is printed


def test_negative_levels_with_a_space(capsys):
    assert main(["quantizer", "--levels", "-1,0,1"]) == 0
    spaced = capsys.readouterr().out
    assert main(["quantizer", "--levels=-1,0,1"]) == 0
    assert capsys.readouterr().out == spaced and "[-1  0  1]" in spaced
    assert main(["rs", "--levels", "-1,1", "--alpha", "1", "--beta", "2"]) == 0


def test_width_help_is_true_for_every_convention(capsys):
    from replica import Quantizer

    rs = next(a for a in build_parser()._subparsers._group_actions[0].choices["rs"]._actions
              if "--width" in a.option_strings)  # fmt: skip
    assert "midrise" in rs.help and "w(K-1)/K" in rs.help
    # what the help says: midrise --width 1.5 with 2 bits has largest level 1.5 * 3/4
    assert Quantizer.uniform(2, 1.5, "midrise").levels.max() == pytest.approx(1.125, abs=1e-15)
    for conv in ("endpoints", "zero"):
        assert Quantizer.uniform(2, 1.5, conv).levels.max() == 1.5


def test_advise_widens_a_search_that_stops_on_its_bound(capsys):
    assert main(["advise", "--bits", "4", "--alpha", "0.3", "--beta", "100"]) == 0
    out = capsys.readouterr().out
    assert "status at_bound" not in out
    width = float(out.split("optimal width")[1].split()[0])
    assert 6.0 < width < 24.0  # beyond the default bound 6, inside the widened search


def test_advise_explains_an_unstable_optimum(capsys):
    main(["advise", "--bits", "3", "--beta", "inf"])
    out = capsys.readouterr().out
    assert "RS unstable (AT >= 1" in out and "RS is unstable at every width" in out
    assert "solve_1rsb" in out and "finite --beta" in out
    main(["advise", "--bits", "2", "--beta", "50"])
    out = capsys.readouterr().out
    assert "smallest error among RS-stable widths" in out
    stable_at = float(out.split("AT = ")[2].split()[0])
    assert stable_at < 1


def test_phase_rerun_says_what_was_resumed(tmp_path, monkeypatch, capsys):
    import replica.sweep as sweep

    monkeypatch.chdir(tmp_path)
    argv = ["phase", "--bits", "1,2", "--width", "0.5:3:6", "--quiet", "--out", "pd.nc",
            "--executor", "serial"]  # fmt: skip
    real, calls = sweep._solve_line, []

    def stop_at_second_line(task):
        calls.append(task)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(sweep, "_solve_line", stop_at_second_line)
    assert main(argv) == 130  # interrupted after one of the two lines was checkpointed
    monkeypatch.setattr(sweep, "_solve_line", real)
    capsys.readouterr()
    assert main(argv) == 0
    assert "resumed 6/12 points from pd.nc.parts" in capsys.readouterr().out
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "resumed 12/12 points from pd.nc (finished: nothing recomputed)" in out


def test_single_line_summary_names_its_bits(capsys):
    assert main(["phase", "--bits", "2", "--width", "0.5:3:6", "--quiet",
                 "--executor", "serial"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "  bits=2: " in out and "all:" not in out


@pytest.mark.parametrize("command", ["repro", "bench"])
def test_help_lists_the_available_names(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    if command == "repro":
        import paper_repro

        names = paper_repro.names()
        assert "figures/quick" in out  # where quick output goes
    else:
        from replica.bench import BENCHMARKS

        names = list(BENCHMARKS)
    assert names and all(n in out for n in names), out


def test_quick_runs_are_labelled_in_every_metadata_record(tmp_path):
    from replica import io

    with io.context(quick=True):
        io.save_csv(tmp_path / "t.csv", {"x": [1.0]}, io.metadata({"a": 1}))
        meta = io.metadata()
    assert meta["quick"] is True and io.load_csv(tmp_path / "t.csv")[1]["quick"] is True
    assert "quick" not in io.metadata()  # outside the context: not claimed either way
