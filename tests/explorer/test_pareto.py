import numpy as np
import pytest

from explorer.pareto import hypervolume_2d, non_dominated


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
