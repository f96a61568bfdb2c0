import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Tiny models gain nothing from two threads, and two spinning OpenMP threads on a shared
    2-core machine can run a hundred times slower: every test runs on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """The suite's base models and trained candidates go to a cache of its own, never the user's
    (the environment reaches worker processes the tests start too)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPLIT_EXPLORER_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield
