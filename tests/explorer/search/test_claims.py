"""Training claims: exactly one trial trains a candidate, however many claim it at once."""
import os
import subprocess
import sys
import time

import sqlalchemy as sa

from explorer.search.claims import TrainingClaims
from tests.explorer.search.search_cases import python_path

CLAIM_AT = """
import sys, time
import sqlalchemy as sa
from explorer.search.claims import TrainingClaims
claims = TrainingClaims(sa.create_engine(sys.argv[1], connect_args={"timeout": 60}), "study")
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(claims.claim("candidate", int(sys.argv[3])))
"""


def test_many_processes_claiming_one_candidate_at_once_agree_on_one_holder(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    env = {**os.environ, "PYTHONPATH": python_path()}
    start = time.time() + 4  # after every process has imported sqlalchemy
    processes = [subprocess.Popen([sys.executable, "-c", CLAIM_AT, url, str(start), str(number)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for number in range(10)]
    holders = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        holders.append(int(out))
    assert len(set(holders)) == 1 and holders[0] in range(10)


def test_a_released_claim_goes_to_the_next_claimant_and_only_its_holder_releases_it(tmp_path):
    claims = TrainingClaims(sa.create_engine(f"sqlite:///{tmp_path / 'study.db'}"), "study")
    assert claims.claim("a", 3) == 3
    assert claims.claim("a", 5) == 3 and claims.claim("b", 5) == 5
    claims.release("a", 5)  # not the holder: nothing changes
    assert claims.claim("a", 7) == 3
    claims.release("a", 3)
    assert claims.claim("a", 7) == 7 and claims.claim("a", 3) == 7
    assert TrainingClaims(claims.engine, "other study").claim("a", 1) == 1


SLOT_AT = """
import sys, time
import sqlalchemy as sa
from explorer.search.claims import TrainingClaims
claims = TrainingClaims(sa.create_engine(sys.argv[1], connect_args={"timeout": 60}), "study")
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
training = {f"c{i}": "training" for i in range(10)}  # every candidate's trial is running
print(claims.take_slot(sys.argv[3], 3, training))
"""


def test_many_candidates_taking_budget_slots_at_once_get_exactly_the_budget(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    TrainingClaims(sa.create_engine(url), "study")  # the tables, before the race
    env = {**os.environ, "PYTHONPATH": python_path()}
    start = time.time() + 4
    processes = [subprocess.Popen([sys.executable, "-c", SLOT_AT, url, str(start), f"c{i}"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(10)]
    answers = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        answers.append(out.strip())
    assert sorted(answers) == ["None"] * 7 + ["True"] * 3  # 3 train, 7 wait for a slot to free


def test_a_budget_slot_is_kept_by_its_candidate_and_taken_over_once_its_training_is_gone(tmp_path):
    claims = TrainingClaims(sa.create_engine(f"sqlite:///{tmp_path / 'study.db'}"), "study")
    assert claims.take_slot("a", 2, {"a": "training"}) and claims.take_slot("b", 2, {"a": "training"})
    assert claims.take_slot("c", 2, {"a": "training", "b": "trained"}) is None  # full, a still training
    assert claims.take_slot("a", 2, {}) is True  # a's retry keeps its slot
    assert claims.take_slot("c", 2, {"a": "trained", "b": "trained"}) is False  # the budget is spent
    assert claims.take_slot("c", 2, {"b": "trained"}) is True  # a's trial failed: c takes its slot
    assert claims.take_slot("a", 2, {"b": "trained", "c": "training"}) is None  # a's late retry waits
    assert claims.take_slot("c", 3, {"b": "trained", "c": "training"}) is True
    assert TrainingClaims(claims.engine, "other study").take_slot("d", 1, {}) is True
