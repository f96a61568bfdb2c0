"""Training-loop throughput vs the raw training-step rate of the same model (goal: ratio >= 0.8).

Both sides train resnet18-cifar at Fashion-MNIST's shape (1x32x32) with the same optimiser
(SGD, momentum 0.9, Nesterov, weight decay 5e-4), bf16 autocast and channels_last on CUDA:

- raw step: forward / backward / optimiser step over one batch already on the device, in a
  plain Python loop; warm-up steps first, then timed with CUDA events (perf_counter on CPU)
  between two synchronisations;
- training loop: `netmodels.training.loop.train` with a step budget: device-resident data, on-device
  augmentation (random crop, flip), a new batch each step, the LR schedule, the loss summed on
  the device; its own images/s (loop time, synchronised at the end). A short run of the same
  loop comes first as warm-up (cuDNN autotuning, allocator).

Fashion-MNIST from /usr/share/datasets/fashion-mnist when there, else synthetic data of its
shape (60k train images). The test set is cut to 512 images: only the training loop is timed.

    python benchmarks/retrain_throughput.py                      # GPU: batch 512, 300 steps
    python benchmarks/retrain_throughput.py --device cpu --steps 5   # CPU smoke run (batch 32)
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import torch
import torch.nn.functional as F

from netmodels.data import ImageDataset, load_dataset, train_batches
from netmodels.training.config import resolve_device, TrainConfig
from netmodels.training.loop import cudnn_settings, train
from netmodels.training.evaluate import autocast_context
from netmodels.training.schedule import build_optimizer
from netmodels.zoo import build_model
from splitbase import DataError

SHAPE = (1, 32, 32)
EVAL_IMAGES = 512


def load_data(num_train: int, root: str | None) -> ImageDataset:
    try:
        data = load_dataset("fashion-mnist", root=root)
    except DataError:
        data = load_dataset("synthetic", shape=SHAPE, num_train=num_train, num_test=EVAL_IMAGES)
    return dataclasses.replace(data, test_images=data.test_images[:EVAL_IMAGES],
                               test_labels=data.test_labels[:EVAL_IMAGES])


def raw_step_rate(data: ImageDataset, config: TrainConfig, *, steps: int, warmup: int) -> float:
    """Images/s of forward/backward/step on one resident batch (the upper bound of any loop)."""
    device = resolve_device(config.device)
    cuda = device.type == "cuda"
    torch.manual_seed(config.seed)
    model = build_model("resnet18-cifar", input_shape=data.input_shape, num_classes=data.num_classes).to(device)
    channels_last = cuda and config.channels_last
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    optimizer = build_optimizer(list(model.parameters()), config)
    x, y = next(iter(train_batches(data, batch_size=config.batch_size, device=device, drop_last=True,
                                   channels_last=channels_last)))
    forward = torch.compile(model) if config.compile else model

    def step() -> None:
        with autocast_context(device, config.bf16):
            loss = F.cross_entropy(forward(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with cudnn_settings(device, config.deterministic):
        for _ in range(warmup):
            step()
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(device)
            start.record()
            for _ in range(steps):
                step()
            end.record()
            torch.cuda.synchronize(device)
            seconds = start.elapsed_time(end) / 1e3
        else:
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            seconds = time.perf_counter() - t0
    return steps * config.batch_size / seconds


def loop_rate(data: ImageDataset, config: TrainConfig, *, steps: int, warmup: int) -> float:
    """Images/s of the training loop itself (TrainResult.images_per_s)."""
    def run(n: int) -> float:
        torch.manual_seed(config.seed)
        model = build_model("resnet18-cifar", input_shape=data.input_shape, num_classes=data.num_classes)
        return train(model, data, dataclasses.replace(config, steps=n), progress=False).images_per_s

    run(warmup)
    return run(steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 300 on CUDA, 5 on CPU)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up steps (default 30 on CUDA, 1 on CPU)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 512 on CUDA, 32 on CPU")
    parser.add_argument("--no-bf16", action="store_true", help="switch bf16 autocast off (CUDA)")
    parser.add_argument("--no-channels-last", action="store_true", help="switch channels_last off (CUDA)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model on both sides")
    parser.add_argument("--data-root", help="Fashion-MNIST folder (default: the Debian package's)")
    args = parser.parse_args()

    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    steps = args.steps or (300 if cuda else 5)
    warmup = args.warmup if args.warmup is not None else (30 if cuda else 1)
    batch = args.batch_size or (512 if cuda else 32)
    data = load_data(60_000 if cuda else 4 * batch * (steps + warmup), args.data_root)
    config = TrainConfig(steps=steps, batch_size=batch, lr=0.1, device=str(device), bf16=not args.no_bf16,
                         channels_last=not args.no_channels_last, compile=args.compile)

    raw = raw_step_rate(data, config, steps=steps, warmup=warmup)
    loop = loop_rate(data, config, steps=steps, warmup=warmup)
    ratio = loop / raw
    name = torch.cuda.get_device_name(device) if cuda else f"cpu, {torch.get_num_threads()} threads"
    precision = "bf16 autocast" if cuda and config.bf16 else "float32"
    layout = "channels_last" if cuda and config.channels_last else "contiguous"
    print(f"resnet18-cifar {'x'.join(map(str, data.input_shape))}, {data.name}, batch {batch}, {name}, "
          f"{precision}, {layout}{', compiled' if args.compile else ''}, torch {torch.__version__}")
    print(f"{'measure':<34} {'steps':>6} {'images/s':>11} {'ms/step':>9}")
    for label, rate in (("raw step (one resident batch)", raw), ("training loop (netmodels.training)", loop)):
        print(f"{label:<34} {steps:>6} {rate:>11.1f} {1e3 * batch / rate:>9.2f}")
    print(f"ratio loop / raw: {ratio:.3f} (goal >= 0.80: {'met' if ratio >= 0.8 else 'MISSED'})")


if __name__ == "__main__":
    main()
