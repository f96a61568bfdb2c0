"""A measurement several netmodels tests share (imported by name: pytest puts this folder on
sys.path for the tests in it)."""
import torch
import torch.nn.functional as F

from netmodels.data import train_batches


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
