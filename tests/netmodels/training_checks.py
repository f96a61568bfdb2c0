"""What several netmodels tests share: a seeded small candidate and a training-loss measurement
(imported by name: pytest puts this folder on sys.path for the tests in it)."""
import torch
import torch.nn.functional as F

from netmodels.candidate import CandidateSpec, build_candidate
from netmodels.data import train_batches


def seeded_candidate(base, shape, **fields):
    """A candidate of small-cnn on synthetic 10-class data (split pool2 unless `fields` say
    otherwise), built under seed 0 so that two builds start from the same new weights."""
    spec = CandidateSpec(**{"model": "small-cnn", "dataset": "synthetic", "split": "pool2", **fields})
    torch.manual_seed(0)
    return build_candidate(spec, input_shape=shape, num_classes=10, base_model=base)


def training_loss(module, data):
    """Mean cross-entropy over the training set: eval mode, no augmentation, a channel at its
    fixed state and its noise seeded, so two calls on the same weights agree."""
    was = module.training
    module.eval()
    total, n = 0.0, 0
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(0)
        for x, y in train_batches(data, batch_size=128, crop_padding=0, flip=False):
            total += F.cross_entropy(module(x), y, reduction="sum").item()
            n += len(y)
    module.train(was)
    return total / n
