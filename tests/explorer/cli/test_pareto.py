"""`pareto` prints the front before it draws the figures (the first useful output early), then
draws them; `report` draws them too."""
from explorer.search import results
from explorer.search.objectives import FRONT_FIGURES, figure_name
from tests.cli_run import run
from tests.explorer.search.search_cases import STUDY, write


def test_pareto_prints_the_front_before_the_figures_and_report_draws_them_too(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing lands in the checkout
    path = write(tmp_path, STUDY)
    assert run(capsys, "search", path, "--no-progress")[0] == 0
    capsys.readouterr()
    printed_first = []
    draw = results.draw_fronts

    def watched(*args):
        printed_first.append(capsys.readouterr().out)
        draw(*args)

    monkeypatch.setattr(results, "draw_fronts", watched)
    figures = [tmp_path / "out" / figure_name(x, y) for x, y in FRONT_FIGURES]
    code, _, _ = run(capsys, "pareto", path)
    assert code == 0 and len(printed_first) == 1 and "hypervolume" in printed_first[0]
    assert all(figure.stat().st_size > 0 for figure in figures)
    for figure in figures:
        figure.unlink()
    assert run(capsys, "report", path)[0] == 0 and len(printed_first) == 2
    assert all(figure.exists() for figure in figures) and (tmp_path / "out" / "REPORT.md").exists()


def test_figures_are_drawn_again_only_when_the_trials_change(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, STUDY)
    assert run(capsys, "search", path, "--no-progress")[0] == 0
    assert run(capsys, "pareto", path)[0] == 0
    out = tmp_path / "out"
    figures = [out / figure_name(x, y) for x, y in FRONT_FIGURES]
    drawn = [figure.stat().st_mtime_ns for figure in figures]
    assert run(capsys, "report", path)[0] == 0  # same trials: the figures are current
    assert [figure.stat().st_mtime_ns for figure in figures] == drawn
    trials = out / "trials.csv"
    trials.write_text(trials.read_text() + "\n")  # stands for a trial that finished since
    assert run(capsys, "pareto", path)[0] == 0
    assert all(figure.stat().st_mtime_ns > before for figure, before in zip(figures, drawn))
