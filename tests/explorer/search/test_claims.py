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
