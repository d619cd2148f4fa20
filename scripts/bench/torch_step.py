#!/usr/bin/env python3
"""sae-train's training step in plain PyTorch eager, the peer `scripts/bench/compare.sh` and `scripts/gpu-check.sh`
time against. The step is the class SaeStep, which scripts/quality/torch_quality.py imports to train the quality peer.

Written from docs/design.md ("The training step") and docs/architectures.md, not copied from any other implementation:

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

Adam (0.9, 0.999), gradient-norm clip 1.0. Rows come from the .npy shards of SHARD_DIR (first shard, cycled), or,
without SHARD_DIR, are standard normal of width --d (as `sae-train bench` uses), scaled so that E|x| = sqrt(d).

  --decode dense  (topk; default, the peer of the CPU table): f scattered into a dense [B, m] matrix, times W_dec.
  --decode sparse (topk): x_hat from the k (index, value) pairs of each row through F.embedding_bag(mode="sum",
      per_sample_weights) over the rows of W_dec, the eager sparse decode of EleutherAI's sparsify; autograd
      gives W_dec's gradient from the same k rows.
  --dtype fp32: everything in fp32; on CUDA with PyTorch's default matmul precision (TF32 off: "highest").
  --dtype tf32: fp32 tensors, matmuls on TF32 tensor cores (allow_tf32), the precision of sae-train's CUDA products.
  --dtype bf16: "PyTorch bf16 eager", the usual mixed-precision recipe: fp32 master parameters and fp32 Adam, the
      forward under torch.autocast(bfloat16) (matmuls in bf16, fp32 accumulation); the sparse decode's weights stay
      fp32 (embedding_bag is not on autocast's lists), its values are cast to them.

Timing: warm-up steps first, then the timed steps between torch.cuda.synchronize() calls on CUDA. Prints one JSON
line with tokens_per_s, ms_step and gemm_tflops (the encoder product [B, d] x [d, m] alone, same dtype, best of 10).
"""
import argparse
import contextlib
import glob
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F


NOT_SHARDS = {"ground_truth.npy"}  # what `sae-train synth` writes beside its shards (as ShardSet.NOT_SHARDS)


def load_rows(shard_dir, n, batch):
    """The first n rows of the first shard, fp32 [n, d]."""
    shards = sorted(p for p in glob.glob(os.path.join(shard_dir, "*.npy")) if os.path.basename(p) not in NOT_SHARDS)
    if not shards:
        raise SystemExit(f"no .npy shards in {shard_dir}\nHINT: make some with `sae-train synth DIR`, or leave "
                         "SHARD_DIR out and give --d for random rows")
    a = np.load(shards[0], mmap_mode="r")
    if a.ndim != 2 or a.shape[0] < batch:
        raise SystemExit(f"{shards[0]}: shape {a.shape}, need [rows >= --batch {batch}, d]\nHINT: a smaller --batch, "
                         "or leave SHARD_DIR out and give --d for random rows")
    return torch.from_numpy(np.array(a[: min(n, a.shape[0])], dtype=np.float32))  # a copy: the mmap is read-only


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def gemm_alone_tflops(dev, dtype, batch, d, m, reps=10):
    """TFLOP/s of [batch, d] x [d, m] alone in the step's precision (bf16: both operands bf16), best of reps."""
    t = torch.bfloat16 if dtype == "bf16" else torch.float32
    g = torch.Generator(device="cpu").manual_seed(7)
    a = torch.randn(batch, d, generator=g).to(dev, t)
    b = torch.randn(d, m, generator=g).to(dev, t)
    c = a @ b
    best = float("inf")
    for _ in range(reps):
        sync(dev)
        t0 = time.perf_counter()
        c = a @ b
        sync(dev)
        best = min(best, time.perf_counter() - t0)
    del c
    return 2.0 * batch * d * m / best / 1e12


class SaeStep:
    """One SAE, its Adam state and its training step (the docstring above), shared by this benchmark and
    scripts/quality/torch_quality.py.

    W_enc [d, m], b_enc [m], W_dec [m, d], b_dec [d] (given: [d], on dev), fp32 parameters. The decoder rows start as
    standard normal rows scaled to norm 1 (topk) or 0.1 (relu), drawn from torch's global generator, or as w_dec
    [m, d] where it is given; W_enc = W_dec^T.
    """

    def __init__(self, arch, d, m, k, b_dec, lr, dev, dtype="fp32", decode="dense", auxk_coef=1 / 32,
                 adam_eps=1e-8, dead_tokens=10_000_000, w_dec=None):
        self.arch, self.m, self.k, self.dev, self.dtype = arch, m, k, dev, dtype
        self.auxk_coef, self.dead_tokens = auxk_coef, dead_tokens
        self.sparse = arch == "topk" and decode == "sparse"
        if w_dec is None:
            w_dec = torch.randn(m, d).to(dev)
            w_dec *= (0.1 if arch == "relu" else 1.0) / w_dec.norm(dim=1, keepdim=True)
        else:  # given (torch_quality.py --init sae-train): used as it is
            w_dec = w_dec.to(dev).clone()
        self.W_dec = torch.nn.Parameter(w_dec)                       # [m, d]
        self.W_enc = torch.nn.Parameter(w_dec.t().clone())           # [d, m]
        self.b_enc = torch.nn.Parameter(torch.zeros(m, device=dev))  # [m]
        self.b_dec = torch.nn.Parameter(b_dec.clone())               # [d]
        self.params = [self.W_enc, self.b_enc, self.W_dec, self.b_dec]
        self.opt = torch.optim.Adam(self.params, lr=lr, betas=(0.9, 0.999), eps=adam_eps)
        self.k_aux = d // 2
        self.last_fired = torch.zeros(m, dtype=torch.long, device=dev)
        self.seen = 0
        self.grad_norm = None  # the last step's gradient norm before the clip (a 0-d tensor)

    def autocast(self):
        if self.dtype == "bf16":
            return torch.autocast(device_type=self.dev.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def decode(self, idx, val):
        """sum_j val[b, j] W_dec[idx[b, j]]: [B, d] (no b_dec)."""
        if self.sparse:
            return F.embedding_bag(idx, self.W_dec, per_sample_weights=val.to(self.W_dec.dtype), mode="sum")
        return torch.zeros(val.shape[0], self.m, dtype=val.dtype, device=self.dev).scatter(1, idx, val) @ self.W_dec

    def encode(self, x):
        """The latents f [B, m] (dense) of rows x [B, d], without a graph (evaluation)."""
        with torch.no_grad():
            pre = (x - self.b_dec) @ self.W_enc + self.b_enc
            if self.arch == "topk":
                val, idx = pre.topk(self.k, dim=1)
                return torch.zeros_like(pre).scatter(1, idx, torch.relu(val))
            return torch.relu(pre)

    def step(self, x, lr=None, l1=0.0):
        """One step on rows x [B, d] at this LR (None: the optimiser's) and relu's lambda l1; returns the loss."""
        with self.autocast():
            pre = (x - self.b_dec) @ self.W_enc + self.b_enc           # [B, m]
            if self.arch == "topk":
                val, idx = pre.topk(self.k, dim=1)
                x_hat = self.decode(idx, torch.relu(val)) + self.b_dec
            else:
                f = torch.relu(pre)
                x_hat = f @ self.W_dec + self.b_dec
            e = x - x_hat.float()
            loss = e.pow(2).sum(1).mean()
            self.seen += x.shape[0]
            if self.arch == "topk":
                with torch.no_grad():
                    self.last_fired[idx[val > 0].unique()] = self.seen
                dead = (self.seen - self.last_fired) > self.dead_tokens
                n_dead = int(dead.sum())
                if n_dead > 0 and self.auxk_coef > 0:
                    masked = pre.masked_fill(~dead, float("-inf"))
                    aval, aidx = masked.topk(min(self.k_aux, n_dead), dim=1)
                    e_hat = self.decode(aidx, torch.relu(aval)).float()
                    et = e.detach()
                    loss = loss + self.auxk_coef * (et - e_hat).pow(2).sum() / (et - et.mean(0)).pow(2).sum()
            else:
                loss = loss + l1 * (f.float() * self.W_dec.norm(dim=1)).sum(1).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.arch == "topk":
            with torch.no_grad():
                self.W_dec.grad -= (self.W_dec.grad * self.W_dec).sum(1, keepdim=True) * self.W_dec
        # The norm before the clip, kept as a tensor: reading it would wait for the device every step.
        self.grad_norm = torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        if lr is not None:
            for group in self.opt.param_groups:
                group["lr"] = lr
        self.opt.step()
        if self.arch == "topk":
            with torch.no_grad():
                self.W_dec.div_(self.W_dec.norm(dim=1, keepdim=True))
        return loss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shard_dir", nargs="?", help="a directory of .npy shards; left out: random rows of width --d")
    ap.add_argument("--d", type=int, help="width of the random rows when no SHARD_DIR is given")
    ap.add_argument("--arch", choices=["topk", "relu"], default="topk")
    ap.add_argument("--expansion", type=int, default=16)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--l1", type=float, default=5.0)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup-steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (the CPU device; ignored on CUDA)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--dtype", choices=["fp32", "tf32", "bf16"], default="fp32")
    ap.add_argument("--decode", choices=["dense", "sparse"], default="dense", help="topk's decode (see above)")
    a = ap.parse_args()
    if (a.shard_dir is None) == (a.d is None):
        ap.error("give SHARD_DIR or --d D (random rows), not both")
    if a.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False (PyTorch " + torch.__version__
                         + ", built for CUDA " + str(torch.version.cuda) + ")")
    dev = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if dev.type == "cuda":
        # Set both ways so that fp32 means true fp32 whatever this PyTorch version's default is.
        torch.backends.cuda.matmul.allow_tf32 = a.dtype == "tf32"
        torch.backends.cudnn.allow_tf32 = a.dtype == "tf32"

    if a.shard_dir is not None:
        data = load_rows(a.shard_dir, a.batch * 16, a.batch)
    else:
        # Two batches are enough: the step's cost does not depend on the values, and bench repeats one batch.
        data = torch.randn(a.batch * 2, a.d, generator=torch.Generator().manual_seed(a.seed + 99))
    d = data.shape[1]
    m = d * a.expansion
    data *= math.sqrt(d) / data.norm(dim=1).mean()          # E|x| = sqrt(d)
    data = data.to(dev)

    lr = 2e-4 / math.sqrt(m / 2 ** 14) if a.arch == "topk" else 5e-5
    # b_dec: the batch mean (the geometric median in sae-train; timing only)
    sae = SaeStep(a.arch, d, m, a.k, data[: a.batch].mean(0), lr, dev, a.dtype, a.decode)
    rows = data.shape[0] // a.batch

    def step(s):
        return sae.step(data[(s % rows) * a.batch:(s % rows + 1) * a.batch], l1=a.l1)

    for s in range(a.warmup_steps):
        step(s)
    sync(dev)
    t0 = time.perf_counter()
    for s in range(a.steps):
        loss = step(a.warmup_steps + s)
    sync(dev)
    dt = time.perf_counter() - t0
    loss = float(loss)
    gemm = gemm_alone_tflops(dev, a.dtype, a.batch, d, m)
    print(json.dumps({"peer": "torch_step.py (pytorch " + torch.__version__ + ")", "arch": a.arch, "d_in": d,
                      "n_latents": m, "k": a.k, "batch": a.batch, "steps": a.steps, "threads": a.threads,
                      "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
                      "dtype": a.dtype, "decode": a.decode if a.arch == "topk" else "dense",
                      "tokens_per_s": round(a.steps * a.batch / dt, 1), "ms_step": round(1e3 * dt / a.steps, 3),
                      "gemm_tflops": round(gemm, 4), "loss": loss}))


if __name__ == "__main__":
    main()
