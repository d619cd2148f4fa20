#!/usr/bin/env python3
"""Lockstep: sae-train's training step against the PyTorch peer's, from the same state on the same batches.

    python3 scripts/quality/lockstep.py TRAIN_DIR [--state FILE] [--steps 20] [--path auto|dense|sparse] \\
        [--jar target/sae-train.jar] [--tolerance 1e-3]

Both sides start from one SAE state: a state file of scripts/quality/torch_quality.py (--state: its parameters, Adam
moments and step, at the options it was saved with; a long run's end is the regime a long run's quality comes from),
or a fresh one (--arch, --expansion, --k, --l1, --lr, --normalize, --seed as torch_quality.py's). --steps batches of
--batch rows are drawn (seeded) from TRAIN_DIR and scaled as the run scaled its inputs. The peer (the step of
scripts/bench/torch_step.py) and sae-train's engine (scripts/quality/Lockstep.java on the jar, CPU) each take the
steps, at the state's LR and lambda (constant: a state past relu's lambda warm-up, or a fresh one at full lambda).
No latent counts as dead on either side, so topk's AuxK is off. --path picks the path of sae-train's first relu step
(its later steps switch as a run's do): auto, by the density of the state's firing on the first batch.

Printed: per step, each side's MSE, gradient norm and (sae-train) path; then per parameter, the relative difference
of the two updates, |d_ours - d_peer| / |d_peer| after one step and after all of them (d: parameters after minus
before), and of the parameters. Where the two steps are the same function, the updates differ by the rounding of
sums taken in other orders (about 1e-6 after one step; it grows with the steps, as Adam divides by small second
moments). A missing or wrong term of the loss, the clip or Adam shows as a difference of its own size (1e-2 and more
after one step). Exit code 1 when a one-step update differs by more than --tolerance, 2 on bad usage.

Needs PyTorch and numpy, Java 17+ and the jar (mvn package). Not part of `mvn test`. See docs/performance.md,
"Quality per token".
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, os.pardir, "bench"))
from torch_quality import default_lr, load_dir, scaled_init_rows  # noqa: E402
from torch_step import SaeStep  # noqa: E402

PARAMS = ["W_enc", "b_enc", "W_dec", "b_dec"]


def latent_major(name, t):
    """sae-train's orientation of a tensor of the peer's: W_enc [d, m] becomes [m, d], the rest as it is."""
    return t.t().contiguous() if name == "W_enc" else t


def params_now(sae):
    """A copy of the peer's parameters, by name, in sae-train's orientation."""
    return {name: latent_major(name, p.detach().clone()) for name, p in zip(PARAMS, sae.params)}


def read_params(folder, like):
    """The parameters Lockstep.java wrote into folder, shaped as `like`'s."""
    return {name: torch.from_numpy(np.fromfile(os.path.join(folder, name + ".f32"), dtype="<f4"))
            .reshape(like[name].shape) for name in PARAMS}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("train_dir")
    ap.add_argument("--state", metavar="FILE", help="a torch_quality.py --state file to start from")
    ap.add_argument("--arch", choices=["topk", "relu"], default="relu")
    ap.add_argument("--expansion", type=int, default=4)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--l1", type=float, default=5.0)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--normalize", choices=["none", "sqrt-d"], default="sqrt-d")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--path", choices=["auto", "dense", "sparse"], default="auto")
    ap.add_argument("--jar", default=os.path.join(HERE, os.pardir, os.pardir, "target", "sae-train.jar"))
    ap.add_argument("--tolerance", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", metavar="DIR", help="write the exchange files here and keep them (default: a temporary "
                    "folder, removed)")
    a = ap.parse_args()
    if a.steps < 1 or a.batch < 1:
        ap.error("--steps and --batch must be >= 1")
    if not os.path.isfile(a.jar):
        raise SystemExit(f"{a.jar}: no such jar\nHINT: build it with mvn -q -B package -DskipTests, or give --jar")
    torch.set_num_threads(a.threads)
    train = load_dir(a.train_dir)
    n, d = train.shape

    st = torch.load(a.state, map_location="cpu") if a.state else None
    o = st["options"] if st else vars(a)
    arch, m, k, l1 = o["arch"], d * o["expansion"], o["k"], o["l1"]
    lr = o["lr"] if o.get("lr") is not None else default_lr(arch, m)
    g = torch.Generator().manual_seed(o["seed"])
    _, scale = scaled_init_rows(train, o.get("init_rows", "shuffled"), o["normalize"], g)
    torch.manual_seed(a.seed)
    sae = SaeStep(arch, d, m, k, torch.zeros(d), lr, torch.device("cpu"), auxk_coef=0.0)
    step = 0
    if st:
        for p, v in zip(sae.params, st["params"]):
            p.data.copy_(v)
        sae.opt.load_state_dict(st["adam"])
        step = int(st["step"])
    moments = {}
    for name, p in zip(PARAMS, sae.params):
        s = sae.opt.state.get(p, {})
        moments[name] = (s.get("exp_avg", torch.zeros_like(p)), s.get("exp_avg_sq", torch.zeros_like(p)))
        if s and int(float(s["step"])) != step:
            raise SystemExit(f"{a.state}: Adam's step for {name} is {float(s['step'])}, the run's {step}")

    pick = torch.randperm(n, generator=torch.Generator().manual_seed(a.seed + 1))[:a.steps * a.batch]
    if pick.numel() < a.steps * a.batch:
        raise SystemExit(f"{a.train_dir} has {n} rows, fewer than --steps x --batch")
    batches = (train[pick].float() * scale).reshape(a.steps, a.batch, d)
    with torch.no_grad():
        pre = (batches[0] - sae.b_dec) @ sae.W_enc + sae.b_enc
        density = float((pre > 0).float().mean()) if arch == "relu" else 0.0

    work = a.keep or tempfile.mkdtemp(prefix="lockstep-")
    try:
        os.makedirs(os.path.join(work, "in"), exist_ok=True)
        before = params_now(sae)
        for name in PARAMS:
            before[name].numpy().astype("<f4").tofile(os.path.join(work, "in", name + ".f32"))
            ma, va = moments[name]
            latent_major(name, ma).numpy().astype("<f4").tofile(os.path.join(work, "in", name + ".adam_m.f32"))
            latent_major(name, va).numpy().astype("<f4").tofile(os.path.join(work, "in", name + ".adam_v.f32"))
        batches.numpy().astype("<f4").tofile(os.path.join(work, "batches.f32"))
        with open(os.path.join(work, "lockstep.json"), "w") as f:
            json.dump({"arch": arch, "d": d, "m": m, "k": k, "batch": a.batch, "steps": a.steps, "step": step,
                       "lr": [lr] * a.steps, "l1": [l1] * a.steps, "path": a.path, "density": density}, f)

        r = subprocess.run(["java", "-cp", a.jar, os.path.join(HERE, "Lockstep.java"), work],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("Lockstep.java failed:\n" + r.stderr[-4000:])
        ours = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
        after_one = read_params(os.path.join(work, "java", "step-1"), before)
        after_all = read_params(os.path.join(work, "java"), before)

        peer = []
        peer_one = {}
        for t in range(a.steps):
            x = batches[t]
            with torch.no_grad():
                f = sae.encode(x)
                mse = float((f @ sae.W_dec + sae.b_dec - x).pow(2).sum(1).mean())
                l0 = float((f > 0).float().sum(1).mean())
            sae.step(x, lr=lr, l1=l1)
            peer.append({"mse": mse, "grad_norm": float(sae.grad_norm), "l0": l0})
            if t == 0:
                peer_one = params_now(sae)
        peer_all = params_now(sae)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)

    print(f"{arch}, d {d}, m {m}, batch {a.batch}, from step {step} "
          f"({'state ' + a.state if a.state else 'a fresh init'}), lr {lr:g}, "
          + (f"lambda {l1:g}, " if arch == "relu" else f"k {k}, ") + f"scale {scale:.6g}, "
          f"first batch density {density:.4f}")
    print(f"{'step':>4} {'mse ours':>12} {'mse peer':>12} {'|g| ours':>12} {'|g| peer':>12} {'L0 ours':>8} "
          f"{'L0 peer':>8} path")
    for t, (u, p) in enumerate(zip(ours, peer)):
        print(f"{t + 1:>4} {u['mse']:>12.6f} {p['mse']:>12.6f} {u['grad_norm']:>12.6f} {p['grad_norm']:>12.6f} "
              f"{u['l0']:>8.2f} {p['l0']:>8.2f} {u['path']}")

    def rel(x, y):
        return float((x - y).norm() / y.norm()) if float(y.norm()) > 0 else float((x - y).norm())

    worst = 0.0
    print(f"{'param':<6} {'update, 1 step':>15} {f'update, {a.steps} steps':>17} {'params':>10}")
    for name in PARAMS:
        u1 = rel(after_one[name] - before[name], peer_one[name] - before[name])
        un = rel(after_all[name] - before[name], peer_all[name] - before[name])
        pn = rel(after_all[name], peer_all[name])
        worst = max(worst, u1)
        print(f"{name:<6} {u1:>15.3e} {un:>17.3e} {pn:>10.3e}")
    verdict = "the same step" if worst <= a.tolerance else "DIFFERENT steps"
    print(f"largest one-step update difference {worst:.3e} (tolerance {a.tolerance:g}): {verdict}")
    sys.exit(0 if worst <= a.tolerance else 1)


if __name__ == "__main__":
    main()
