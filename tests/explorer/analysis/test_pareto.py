import numpy as np
import pytest

from explorer.analysis.pareto import hypervolume_2d, non_dominated


def brute_force(values):
    return np.array([not any(np.all(o <= v) and np.any(o < v) for o in values) for v in values])


@pytest.mark.parametrize("objectives", [2, 3])
def test_non_dominated_matches_brute_force(objectives):
    values = np.random.default_rng(objectives).random((200, objectives))
    values[3] = values[4]  # duplicates are both kept or both dropped
    assert np.array_equal(non_dominated(values), brute_force(values))


def test_non_finite_rows_are_never_on_the_front():
    values = np.array([[1.0, 1.0], [np.nan, 0.0], [0.0, np.inf], [2.0, 0.5]])
    assert list(non_dominated(values)) == [True, False, False, True]


def test_hypervolume_by_hand():
    # points (1, 3), (2, 1) against (4, 4): 1*(4-3) + 2*(4-1) = 7; (3, 3) is dominated
    assert hypervolume_2d(np.array([[1, 3], [2, 1], [3, 3]]), np.array([4, 4])) == 7.0


def test_hypervolume_3d_equals_a_grid_count():
    rng = np.random.default_rng(3)
    values = rng.random((12, 3))
    reference = np.ones(3)
    grid = (np.arange(40) + 0.5) / 40
    cells = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
    dominated = np.any(np.all(values[None, :, :] <= cells[:, None, :], axis=2), axis=1)
    from explorer.analysis.pareto import hypervolume
    assert hypervolume(values, reference) == pytest.approx(dominated.mean(), abs=0.02)
    assert hypervolume(values[:, :2], reference[:2]) == pytest.approx(hypervolume_2d(values[:, :2], reference[:2]))
