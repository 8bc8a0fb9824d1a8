#!/usr/bin/env python3
"""PyTorch reference for `./build.sh bench engine`: one training step of a small segmentation net.

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13); the C# twin is
bench/MedDistill.Bench/EngineStep.cs and must stay the same network, batch, loss and optimiser.
Prints `pytorch-step-ms=<median>` as its last line.
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def build_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 2, stride=2), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 2, 3, padding=1),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50, help="timed steps (default 50)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (default: torch's own default)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.steps < 1 or args.warmup < 0:
        ap.error("--steps must be >= 1 and --warmup >= 0")

    torch.manual_seed(args.seed)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"

    net = build_net().to(device).train()
    x = torch.randn(8, 1, 128, 128, dtype=torch.float32, device=device)
    y = torch.randint(0, 2, (8, 128, 128), dtype=torch.int64, device=device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    # The warm-up losses show that both sides compute the same thing: same seed, same initial draws.
    first_losses = [step().item() for _ in range(args.warmup)]
    if cuda:
        torch.cuda.synchronize(device)
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        # Without a sync a CUDA step only measures kernel launches.
        if cuda:
            torch.cuda.synchronize(device)
        times.append((time.perf_counter() - t0) * 1000.0)

    print(f"torch={torch.__version__} threads={torch.get_num_threads()} device={device} steps={args.steps}",
          file=sys.stderr)
    print("first-losses=" + ",".join(f"{v:.6f}" for v in first_losses[:3]))
    print(f"pytorch-step-ms={statistics.median(times):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
