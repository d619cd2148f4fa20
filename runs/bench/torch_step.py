#!/usr/bin/env python3
"""sae-train's training step in plain PyTorch eager, the peer `runs/bench/compare.sh` times against.

Written from DESIGN.md section 4, not copied from any other implementation:

    pre   = (x - b_dec) W_enc + b_enc                      W_enc [d, m], b_enc [m], W_dec [m, d], b_dec [d]
    f     = act(pre)
    x_hat = f W_dec + b_dec
    mse   = mean_b sum_d (x_hat - x)^2

  topk (Gao et al. 2024): f = relu(top-k of pre per row); unit-norm decoder rows (the gradient component
      along each row removed before the step, rows renormalised after); AuxK: the k_aux largest
      pre-activations among dead latents (no fire for 10M tokens) reconstruct the residual e = x - x_hat,
      loss += (1/32) |e - e_hat|^2 / |e - mean(e)|^2.
  relu (Anthropic, April 2024): f = relu(pre); loss = mse + lambda mean_b sum_i f_bi |W_dec,i|;
      decoder rows start at norm 0.1 with W_enc = W_dec^T; no norm constraint.

Adam (0.9, 0.999), gradient-norm clip 1.0. Rows come from the .npy shards of SHARD_DIR (first shard, cycled),
scaled so that E|x| = sqrt(d). Prints one JSON line with tokens_per_s.
"""
import argparse
import glob
import json
import math
import os
import time

import numpy as np
import torch


def load_rows(shard_dir, n):
    """The first n rows of the first shard, fp32 [n, d]."""
    shards = sorted(glob.glob(os.path.join(shard_dir, "*.npy")))
    if not shards:
        raise SystemExit(f"no .npy shards in {shard_dir}\nHINT: make some with `sae-train synth DIR`")
    a = np.load(shards[0], mmap_mode="r")
    return torch.from_numpy(np.array(a[: min(n, a.shape[0])], dtype=np.float32))  # a copy: the mmap is read-only


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shard_dir")
    ap.add_argument("--arch", choices=["topk", "relu"], default="topk")
    ap.add_argument("--expansion", type=int, default=16)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--l1", type=float, default=5.0)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup-steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    data = load_rows(a.shard_dir, a.batch * 16)
    d = data.shape[1]
    m = d * a.expansion
    data *= math.sqrt(d) / data.norm(dim=1).mean()          # E|x| = sqrt(d)

    w_dec = torch.randn(m, d)
    w_dec *= (0.1 if a.arch == "relu" else 1.0) / w_dec.norm(dim=1, keepdim=True)
    W_dec = torch.nn.Parameter(w_dec)                       # [m, d]
    W_enc = torch.nn.Parameter(w_dec.t().clone())           # [d, m]
    b_enc = torch.nn.Parameter(torch.zeros(m))
    b_dec = torch.nn.Parameter(data[: a.batch].mean(0))     # (the geometric median in sae-train; timing only)
    params = [W_enc, b_enc, W_dec, b_dec]
    lr = 2e-4 / math.sqrt(m / 2 ** 14) if a.arch == "topk" else 5e-5
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999))
    k_aux = d // 2
    dead_tokens = 10_000_000
    last_fired = torch.zeros(m, dtype=torch.long)
    seen = 0
    rows = data.shape[0] // a.batch

    def step(s):
        nonlocal seen
        x = data[(s % rows) * a.batch:(s % rows + 1) * a.batch]
        pre = (x - b_dec) @ W_enc + b_enc                   # [B, m]
        if a.arch == "topk":
            val, idx = pre.topk(a.k, dim=1)
            f = torch.zeros_like(pre).scatter(1, idx, torch.relu(val))
        else:
            f = torch.relu(pre)
        x_hat = f @ W_dec + b_dec
        e = x - x_hat
        loss = e.pow(2).sum(1).mean()
        seen += a.batch
        if a.arch == "topk":
            with torch.no_grad():
                last_fired[idx[val > 0].unique()] = seen
            dead = (seen - last_fired) > dead_tokens
            n_dead = int(dead.sum())
            if n_dead > 0:
                masked = pre.masked_fill(~dead, float("-inf"))
                aval, aidx = masked.topk(min(k_aux, n_dead), dim=1)
                e_hat = torch.zeros_like(pre).scatter(1, aidx, torch.relu(aval)) @ W_dec
                et = e.detach()
                loss = loss + (1 / 32) * (et - e_hat).pow(2).sum() / (et - et.mean(0)).pow(2).sum()
        else:
            loss = loss + a.l1 * (f * W_dec.norm(dim=1)).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.arch == "topk":
            with torch.no_grad():
                W_dec.grad -= (W_dec.grad * W_dec).sum(1, keepdim=True) * W_dec
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if a.arch == "topk":
            with torch.no_grad():
                W_dec.div_(W_dec.norm(dim=1, keepdim=True))
        return loss

    for s in range(a.warmup_steps):
        step(s)
    t0 = time.perf_counter()
    for s in range(a.steps):
        loss = step(a.warmup_steps + s)
    dt = time.perf_counter() - t0
    print(json.dumps({"peer": "torch_step.py (pytorch " + torch.__version__ + ")", "arch": a.arch, "d_in": d,
                      "n_latents": m, "batch": a.batch, "steps": a.steps, "threads": a.threads,
                      "tokens_per_s": round(a.steps * a.batch / dt, 1), "loss": float(loss)}))


if __name__ == "__main__":
    main()
