"""The round-robin timing core and the table's consistency, on stand-in callables and hand-made
tables: which part runs when and how many samples each gets, never how long anything took."""
import random

import numpy as np

from explorer.measure import standalone


def _logged_parts(n, log):
    """n callables, each appending its index to `log` when called."""
    return [lambda i=i: log.append(i) for i in range(n)]


def _visits(log):
    """The order in which parts were visited: the log with runs of one index collapsed."""
    return [i for j, i in enumerate(log) if j == 0 or log[j - 1] != i]


def test_one_round_times_each_part_in_one_go_in_table_order():
    # warm-up, one calibration call (min_sample_s=0: one call per sample), then the samples
    log = []
    timed = standalone.time_parts(_logged_parts(3, log), rounds=1, repeats=4, warmup=2, min_sample_s=0.0)
    assert log == [0] * 7 + [1] * 7 + [2] * 7 and len(timed) == 3


def test_later_rounds_visit_every_part_once_in_a_seeded_shuffle():
    log = []
    standalone.time_parts(_logged_parts(6, log), rounds=3, repeats=2, warmup=1, min_sample_s=0.0)
    visits = _visits(log)
    assert len(visits) == 18 and visits[:6] == list(range(6))
    rounds = [visits[6:12], visits[12:18]]
    assert all(sorted(r) == list(range(6)) for r in rounds) and rounds[0] != rounds[1]
    order = list(range(6))
    shuffle = random.Random(standalone.ORDER_SEED).shuffle
    expected = [(shuffle(order), list(order))[1] for _ in range(2)]
    assert rounds == expected  # the order is reproducible from the recorded seed
    # first visit: warm-up 1 + calibration 1 + 2 samples; later visits: 1 untimed call + 2 samples
    assert all(log.count(i) == 4 + 3 + 3 for i in range(6))


def test_a_part_named_twice_in_the_table_is_timed_once():
    n = 4
    assert standalone.spans(n) == [(0, 3), (0, 0), (1, 3), (1, 1), (0, 1), (2, 3), (2, 2), (0, 2), (3, 3)]
    timed = {span: (float(i + 1), 0.5) for i, span in enumerate(standalone.spans(n))}
    table = standalone.table_of(n, timed)
    assert table["tail_s"][0] == table["head_s"][-1] == 1.0 and table["head_s"][1] == table["unit_s"][1]
    assert table["unit_s"][0] == table["head_s"][0] == table["tail_s"][-1] == 0.0
    assert table["tail_iqr_s"][:-1] == [0.5] * n


def _table(unit, head, tail):
    return {"unit_s": [0.0, *unit], "head_s": [0.0, *head], "tail_s": [*tail, 0.0]}


def test_consistency_counts_the_split_points_an_additive_predictor_can_match():
    additive = _table([1.0, 2.0, 3.0], [1.0, 3.0, 6.0], [6.0, 5.0, 3.0])
    assert standalone.consistency(additive) == {"head_plus_tail": 1.0, "head_vs_units": 1.0}
    # head 1 is 20 % over its units' sum and its head + tail 20 % over the whole model
    skewed = _table([1.0, 2.0, 3.0], [1.0, 3.6, 6.0], [6.0, 5.0, 3.6])
    assert standalone.consistency(skewed) == {"head_plus_tail": 0.5, "head_vs_units": 2 / 3}


def test_consistency_is_the_calibration_reports_on_noisy_tables():
    # the same shares as explorer.calibration.metrics.consistency, which the calibration report prints
    from explorer.calibration.metrics import consistency

    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 12))
        unit = rng.uniform(1e-5, 1e-3, n)
        head = np.cumsum(unit) * rng.uniform(0.8, 1.2, n)
        tail = (np.cumsum(unit[::-1])[::-1][1:]) * rng.uniform(0.8, 1.2, n - 1)
        table = _table(list(unit), list(head), [head[-1] * rng.uniform(0.8, 1.2), *tail])
        ours = standalone.consistency(table)
        theirs = consistency(*(np.array(table[name]) for name in ("unit_s", "head_s", "tail_s")))
        assert (ours["head_plus_tail"], ours["head_vs_units"]) == (theirs.head_plus_tail, theirs.head_vs_units)
