#!/usr/bin/env python3
"""Loads every dictionary of a sae-train run with SAELens (and, for TopK, sparsify) and compares their
encode/decode with the project's forward pass on rows of the run's own shards.

    python3 scripts/check-saelens.py runs/NAME [--rows 4096] [--device cpu]

The project's forward is the one README's "Loading the result" gives (pre = (x - b_dec) W_enc + b_enc, then the
architecture's activation, x_hat = f W_dec + b_dec), computed here in float64 from the files. For each dictionary
and each loader found it prints FVU, the largest |x_hat - x_hat_ours| relative to the largest |x|, and the fraction of
rows whose active latents differ. A library that is not installed is skipped with a line saying so; exit code 1 if
a loaded dictionary disagrees (FVU differs by more than 1e-5, or x_hat by more than 1e-4 relative), else 0.
Needs numpy and safetensors; a SAELens cache as data needs datasets (or pyarrow).
"""
import argparse
import glob
import json
import os
import sys

import numpy as np


def shard_rows(path, column, n):
    """The first n rows, in file order, of a shard directory (.npy/.safetensors) or a SAELens cache, as float64."""
    if os.path.exists(os.path.join(path, "state.json")) or os.path.exists(os.path.join(path, "dataset_info.json")):
        try:
            import datasets
        except ImportError:
            sys.exit("the run's data is a SAELens cache and the datasets library is not installed: pip install datasets")
        ds = datasets.load_from_disk(path).with_format("numpy")
        if column is None:
            column = next(k for k, f in ds.features.items() if type(f).__name__ == "Array2D")
        out, got, i = [], 0, 0
        while got < n and i < len(ds):
            seq = np.asarray(ds[i][column], dtype=np.float64)
            out.append(seq)
            got += len(seq)
            i += 1
        return np.concatenate(out)[:n]
    files = sorted(glob.glob(os.path.join(path, "*.npy")) + glob.glob(os.path.join(path, "*.safetensors")))
    files = [f for f in files if os.path.basename(f) != "ground_truth.npy"]
    out, got = [], 0
    for f in files:
        if f.endswith(".npy"):
            a = np.load(f, mmap_mode="r")
        else:
            from safetensors.numpy import load_file
            t = load_file(f)
            a = t["activations"] if "activations" in t else next(iter(t.values()))
        a = a.reshape(-1, a.shape[-1])
        out.append(np.asarray(a[: n - got], dtype=np.float64))
        got += len(out[-1])
        if got >= n:
            break
    return np.concatenate(out)


def ours(sae_dir, x):
    """The project's forward from the files: (latents [n, m], x_hat [n, d]), float64."""
    from safetensors.numpy import load_file
    cfg = json.load(open(os.path.join(sae_dir, "cfg.json")))
    w = {k: v.astype(np.float64) for k, v in load_file(os.path.join(sae_dir, "sae_weights.safetensors")).items()}
    x_in = x - w["b_dec"] if cfg.get("apply_b_dec_to_input", True) else x
    arch = cfg["architecture"]
    if arch == "gated":
        gate = x_in @ w["W_enc"] + w["b_gate"] > 0
        f = gate * np.maximum(0, x_in @ (w["W_enc"] * np.exp(w["r_mag"])) + w["b_mag"])
    else:
        pre = x_in @ w["W_enc"] + w["b_enc"]
        if arch == "topk":
            k = cfg["k"]
            idx = np.argpartition(-pre, k - 1, axis=1)[:, :k]
            f = np.zeros_like(pre)
            np.put_along_axis(f, idx, np.maximum(0, np.take_along_axis(pre, idx, 1)), 1)
        elif arch == "jumprelu":
            f = np.where(pre > w["threshold"], np.maximum(0, pre), 0)
        else:
            f = np.maximum(0, pre)
    return f, f @ w["W_dec"] + w["b_dec"]


def fvu(x, x_hat):
    return float(((x - x_hat) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())


def with_saelens(sae_dir, x, device):
    import torch
    from sae_lens import SAE
    sae = SAE.load_from_disk(sae_dir, device=device)
    with torch.no_grad():
        t = torch.tensor(x, dtype=torch.float32, device=device)
        f = sae.encode(t)
        return f.double().cpu().numpy(), sae.decode(f).double().cpu().numpy()


def with_sparsify(sae_dir, x, device, tmp):
    import subprocess
    import torch
    from sparsify import Sae
    out = os.path.join(tmp, os.path.basename(sae_dir) + "-sparsify")
    if not os.path.exists(out):
        subprocess.run(["java", "-jar", JAR, "export", sae_dir, "--format", "sparsify", "--out", out], check=True)
    sae = Sae.load_from_disk(out, device=device)
    with torch.no_grad():
        t = torch.tensor(x, dtype=torch.float32, device=device)
        enc = sae.encode(t)
        f = torch.zeros(len(t), sae.num_latents, dtype=torch.float32, device=device)
        f.scatter_(1, enc.top_indices, enc.top_acts)
        return f.double().cpu().numpy(), sae.decode(enc.top_acts, enc.top_indices).double().cpu().numpy()


JAR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "sae-train.jar")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run")
    p.add_argument("--rows", type=int, default=4096)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    config = json.load(open(os.path.join(a.run, "config.json")))
    data = config["data"]
    x = shard_rows(data["absolute_path"], data.get("column"), a.rows)
    loaders = []
    for name, mod in (("saelens", "sae_lens"), ("sparsify", "sparsify")):
        try:
            __import__(mod)
            loaders.append(name)
        except ImportError:
            print(f"skipped {name}: the {mod} package is not installed (pip install {mod.replace('_', '-')})")
    bad = 0
    print(f"{'dictionary':<24} {'loader':<9} {'arch':<9} {'FVU':>10} {'FVU ours':>10} {'max dx/|x|':>11} {'rows, other latents':>20}")
    for sae_dir in sorted(glob.glob(os.path.join(a.run, "saes", "*"))):
        arch = json.load(open(os.path.join(sae_dir, "cfg.json")))["architecture"]
        f0, x0 = ours(sae_dir, x)
        print(f"{os.path.basename(sae_dir):<24} {'ours':<9} {arch:<9} {fvu(x, x0):>10.6f} {fvu(x, x0):>10.6f} "
              f"{0.0:>11.2e} {0.0:>20.4f}")
        for loader in loaders:
            if loader == "sparsify" and arch != "topk":
                continue
            f1, x1 = (with_saelens(sae_dir, x, a.device) if loader == "saelens"
                      else with_sparsify(sae_dir, x, a.device, os.path.join(a.run, "check-saelens")))
            dx = float(np.abs(x1 - x0).max() / np.abs(x).max())
            other = float(((f1 != 0) != (f0 != 0)).any(1).mean())
            ok = abs(fvu(x, x1) - fvu(x, x0)) <= 1e-5 and dx <= 1e-4
            bad += not ok
            print(f"{os.path.basename(sae_dir):<24} {loader:<9} {arch:<9} {fvu(x, x1):>10.6f} {fvu(x, x0):>10.6f} "
                  f"{dx:>11.2e} {other:>20.4f}{'' if ok else '  DISAGREES'}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
