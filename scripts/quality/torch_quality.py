#!/usr/bin/env python3
"""Quality of the PyTorch peer: train the step of scripts/bench/torch_step.py for N steps on the train
shards, then report held-out FVU and L0 on the test shards as one JSON line.

    python3 scripts/quality/torch_quality.py TRAIN_DIR TEST_DIR --steps 250 [--arch topk|relu] [recipe options]

The step is torch_step.py's SaeStep, imported from it (docs/design.md, "The training step"): pre = (x - b_dec) W_enc + b_enc; topk keeps the
k largest pre-activations per row (relu of them), unit-norm decoder rows with the gradient's radial part removed,
AuxK over dead latents; relu adds lambda sum_i f_i |W_dec,i| with lambda warmed up over the first 5 % of the steps.
Adam (0.9, 0.999), gradient-norm clip 1.0.

The recipe options default to the plain loop that the quality comparison uses ("the peer"): constant LR (no warm-up, no
decay), b_dec = 0, raw input scale, AuxK weight 1/32, Adam epsilon 1e-8. Each of sae-train's recipe pieces can be
switched on alone with the option of the same name as sae-train's (--warmup, --decay, --b-dec-init, --normalize,
--auxk-coef, --adam-eps), so that a difference between the two can be traced to one piece. The input scale (and b_dec's
median or mean start) is estimated on 16384 rows of a shuffled epoch, or with --init-rows first on the first 32768 rows
in file order, as sae-train does: then the scale is sae-train's to float precision, and so is relu's effective lambda.
--init sae-train starts from the decoder sae-train draws for the same --seed (bit for bit), so that the two runs differ
in the data order alone. --decode sparse (topk) decodes through F.embedding_bag over the k rows of W_dec instead of a
dense [B, m] matrix times W_dec: the same sum in another order, and a faster step on the CPU at large expansions.

Data: all train rows in memory (fp16), a seeded permutation per epoch, batches of --batch rows. Test: every test row;
FVU = sum |x - x_hat|^2 / sum |x - mean x|^2 in the input's own units (the scale is undone), L0 = mean number of
non-zero latents per row, as `sae-train analyze` reports them.

A long run can stop and go on: with --state FILE it saves everything the run depends on (parameters, Adam state,
firing record, data-order generator, the epoch's permutation, step and training seconds) into FILE every --save-every
steps (atomically), and a run started with the same options and an existing FILE continues from it, with the steps,
losses and scores an uninterrupted run gives (the same on this machine and build).
"""
import argparse
import glob
import json
import math
import os
import sys
import time

# Idle OpenMP threads sleep instead of spinning: on a CPU shared with other work, spinning threads (and OpenBLAS's
# own) take turns with the threads doing the work, and a step ran 3-8x slower. Only the waiting changes, not the
# math (same threads, same partition of each op). Set before torch loads libgomp; the environment can override it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "bench"))
from torch_step import SaeStep  # noqa: E402  (the benchmark's step: one definition of it)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sae_train_init  # noqa: E402


def load_dir(path):
    """All rows of the .npy shards in path, in file order, fp16 [n, d]."""
    files = sorted(p for p in glob.glob(os.path.join(path, "*.npy")) if os.path.basename(p) != "ground_truth.npy")
    if not files:
        raise SystemExit(f"no .npy shards in {path}\nHINT: make them with scripts/quality/make-activations.sh OUT_DIR")
    return torch.from_numpy(np.concatenate([np.load(f).astype(np.float16) for f in files]))


def geometric_median(x, iters=50, eps=1e-8):
    """Weiszfeld's iteration from the mean."""
    y = x.mean(0)
    for _ in range(iters):
        w = 1.0 / (x - y).norm(dim=1).clamp_min(eps)
        y = (w[:, None] * x).sum(0) / w.sum()
    return y


def scaled_init_rows(train, which, normalize, g):
    """The rows the input scale and b_dec's start are estimated from, scaled, and the scale (1 for "none").

    sae-train estimates both on the first 32768 rows in file order (which = "first"); "shuffled" takes the first 16384
    of a shuffled epoch. The permutation is drawn from g either way, so that a seed gives the same data order with
    either choice."""
    shuffled = torch.randperm(train.shape[0], generator=g)[:16384]
    rows = (train[:32768] if which == "first" else train[shuffled]).float()
    scale = math.sqrt(train.shape[1]) / float(rows.norm(dim=1).mean()) if normalize == "sqrt-d" else 1.0
    return rows * scale, scale


def default_lr(arch, m):
    """sae-train's default LR: 2e-4 / sqrt(m / 2^14) for topk, 5e-5 for relu."""
    return 2e-4 / math.sqrt(m / 2 ** 14) if arch == "topk" else 5e-5


def warmup_steps(text, total):
    if text == "auto":
        return min(1000, total // 20)
    return int(math.floor(total * float(text))) if "." in text else int(text)


def lr_at(t, lr, warm, decay, total):
    """sae-train's Schedule.lrAt (1-based t): linear warm-up, then linear decay to 0 over the last decay*total."""
    f = 1.0
    if warm > 0 and t <= warm:
        f = t / warm
    span = int(math.floor(total * decay))
    start = total - span + 1
    if decay > 0 and t >= start:
        f = min(f, (total - t + 1) / (span + 1))
    return lr * f


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("train_dir")
    ap.add_argument("test_dir")
    ap.add_argument("--arch", choices=["topk", "relu"], default="topk")
    ap.add_argument("--expansion", type=int, default=16)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--l1", type=float, default=5.0, help="relu's lambda (on the sqrt-d scale, as sae-train's)")
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--eval-at", default="", help="also score after these steps (comma-separated, below --steps); "
                    "only where no piece depends on the run's length: --warmup 0 --decay 0, and not relu (its lambda "
                    "warm-up is 5 %% of the run)")
    ap.add_argument("--lr", type=float, help="default: 2e-4/sqrt(m/2^14) for topk, 5e-5 for relu (sae-train's)")
    ap.add_argument("--warmup", default="0", help="steps, a fraction with a decimal point, or auto")
    ap.add_argument("--decay", type=float, default=0.0)
    ap.add_argument("--b-dec-init", choices=["zero", "mean", "median"], default="zero")
    ap.add_argument("--normalize", choices=["none", "sqrt-d"], default="none")
    ap.add_argument("--init-rows", choices=["shuffled", "first"], default="shuffled",
                    help="the rows the input scale and b_dec's start are estimated from: 16384 rows of a shuffled "
                    "epoch, or the first 32768 rows in file order, sae-train's rule (the same factor as sae-train's)")
    ap.add_argument("--init", choices=["torch", "sae-train"], default="torch",
                    help="the initial decoder: torch's generator, or the one sae-train draws for --seed (Philox, "
                    "bit for bit: scripts/quality/sae_train_init.py)")
    ap.add_argument("--decode", choices=["dense", "sparse"], default="dense",
                    help="topk's decode: the k values scattered into a dense [B, m] matrix times W_dec, or "
                    "F.embedding_bag over the k rows of W_dec (sparsify's eager decode): the same sum in another "
                    "order, a faster step on the CPU at large expansions")
    ap.add_argument("--auxk-coef", type=float, default=1 / 32)
    ap.add_argument("--adam-eps", type=float, default=1e-8)
    ap.add_argument("--dead-tokens", type=int, default=10_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                    help="where the step and the scoring run (fp32 on either; TF32 is off on CUDA)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--state", metavar="FILE", help="save the run's state here every --save-every steps; continue "
                    "from it when it exists (the options must be the same)")
    ap.add_argument("--save-every", type=int, default=500, metavar="STEPS", help="with --state (default 500)")
    ap.add_argument("--log-every", type=int, default=0, metavar="STEPS",
                    help="print step, loss and elapsed seconds to stderr every STEPS steps (0: never)")
    a = ap.parse_args()
    if a.log_every < 0:
        ap.error(f"--log-every {a.log_every}: give a number of steps >= 1, or 0 for no progress lines")
    if a.save_every < 1:
        ap.error(f"--save-every {a.save_every}: give a number of steps >= 1")
    eval_at = {int(t) for t in a.eval_at.split(",") if t}
    if eval_at and not all(0 < t < a.steps for t in eval_at):
        ap.error(f"--eval-at {a.eval_at}: every step must lie between 0 and --steps {a.steps}")
    if eval_at and not length_free(a):
        ap.error("--eval-at needs a schedule that does not depend on the run's length (--arch topk --warmup 0 "
                 "--decay 0): a separate run per length otherwise")
    if a.decode == "sparse" and a.arch != "topk":
        ap.error("--decode sparse: only topk has a k-sparse decode (relu's activations are dense)")
    if a.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False (PyTorch " + torch.__version__
                         + ", built for CUDA " + str(torch.version.cuda) + ")")
    dev = torch.device(a.device)
    if dev.type == "cuda":
        # fp32 means true fp32, as on the CPU, whatever this PyTorch version's default is.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t_start = time.perf_counter()

    train = load_dir(a.train_dir)
    test = load_dir(a.test_dir)
    n, d = train.shape
    m = d * a.expansion
    g = torch.Generator().manual_seed(a.seed)
    init_rows, scale = scaled_init_rows(train, a.init_rows, a.normalize, g)

    b_dec = {"zero": lambda: torch.zeros(d), "mean": lambda: init_rows.mean(0),
             "median": lambda: geometric_median(init_rows)}[a.b_dec_init]()
    lr = a.lr if a.lr is not None else default_lr(a.arch, m)
    w_dec = None
    if a.init == "sae-train":
        w_dec = torch.from_numpy(sae_train_init.decoder(a.seed, m, d, 0.1 if a.arch == "relu" else 1.0))
    sae = SaeStep(a.arch, d, m, a.k, b_dec.to(dev), lr, dev, auxk_coef=a.auxk_coef, adam_eps=a.adam_eps,
                  dead_tokens=a.dead_tokens, w_dec=w_dec, decode=a.decode)
    # The rows live where the step runs; the data order is drawn on the CPU generator either way (the same batches).
    train_dev = train.to(dev)
    warm = warmup_steps(a.warmup, a.steps)
    l1_warm = int(math.floor(a.steps * 0.05))
    per_epoch = n // a.batch
    order = None
    loss = torch.tensor(float("nan"))
    eval_s = 0.0  # time spent scoring the --eval-at points, left out of "seconds"
    start = 0
    if a.state and os.path.exists(a.state):
        st = torch.load(a.state, map_location=dev)
        now = run_options(a)
        # A state saved before --device, --init-rows, --init or --decode existed ran on the CPU, from shuffled rows and
        # torch's initial decoder, with the dense decode.
        saved = {"device": "cpu", "init_rows": "shuffled", "init": "torch", "decode": "dense", **st["options"]}
        if saved != now:
            diff = ", ".join(f"{k} {saved.get(k)!r} there, {now.get(k)!r} now"
                             for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k))
            raise SystemExit(f"{a.state} was saved by a run with other options ({diff}); give the same options, or "
                             f"another --state file")
        for p, v in zip(sae.params, st["params"]):
            p.data.copy_(v)
        sae.opt.load_state_dict(st["adam"])
        sae.last_fired.copy_(st["last_fired"])
        sae.seen = st["seen"]
        g.set_state(st["generator"].cpu())
        order, start, loss = st["order"].cpu(), st["step"], st["loss"]
        if start >= a.steps:
            raise SystemExit(f"{a.state} is at step {start} already; give --steps above it to go on")
        # Seconds so far stand in for the time before this process: "seconds" stays the run's training time.
        t_start = time.perf_counter() - st["train_s"]
        print(f"{a.state}: continuing at step {start} of {a.steps}", file=sys.stderr, flush=True)
    for s in range(start, a.steps):
        if s % per_epoch == 0:
            order = torch.randperm(n, generator=g)
        j = s % per_epoch
        x = train_dev[order[j * a.batch:(j + 1) * a.batch].to(dev)].float() * scale
        l1 = a.l1 * (s + 1) / l1_warm if l1_warm > 0 and s + 1 <= l1_warm else a.l1
        loss = sae.step(x, lr=lr_at(s + 1, lr, warm, a.decay, a.steps), l1=l1)
        if a.log_every > 0 and (s + 1) % a.log_every == 0:
            print(f"step {s + 1}/{a.steps} loss {float(loss):.4f} {time.perf_counter() - t_start:.0f} s",
                  file=sys.stderr, flush=True)
        if s + 1 in eval_at or s + 1 == a.steps:
            t_eval = time.perf_counter()
            report(a, sae, test, scale, lr, warm, n, d, m, s + 1, loss, t_eval - t_start - eval_s)
            eval_s += time.perf_counter() - t_eval
        if a.state and ((s + 1) % a.save_every == 0 or s + 1 == a.steps):
            save_state(a, sae, g, order, s + 1, loss, time.perf_counter() - t_start - eval_s)


def length_free(a):
    """Whether the schedule does not depend on the run's length (topk, no warm-up, no decay)."""
    return a.arch == "topk" and a.decay == 0 and a.warmup == "0"


def run_options(a):
    """The options a saved state belongs to: all but where it is saved, how often, the threads and the progress, and
    --steps where the schedule does not depend on it (such a run may go on past the length it was started with)."""
    skip = {"state", "save_every", "threads", "log_every", "eval_at"} | ({"steps"} if length_free(a) else set())
    return {k: v for k, v in sorted(vars(a).items()) if k not in skip}


def save_state(a, sae, g, order, step, loss, train_s):
    """Writes the run's state to a.state through a temporary file, so a kill leaves the old state or the new one."""
    tmp = a.state + ".tmp"
    torch.save({"options": run_options(a), "params": [p.detach().clone() for p in sae.params],
                "adam": sae.opt.state_dict(), "last_fired": sae.last_fired.clone(), "seen": sae.seen,
                "generator": g.get_state(), "order": order, "step": step, "loss": loss.detach(),
                "train_s": train_s}, tmp)
    os.replace(tmp, a.state)


def report(a, sae, test, scale, lr, warm, n, d, m, steps, loss, train_s):
    """Prints the JSON line of the SAE after `steps` steps: held-out FVU and L0 on every test row."""
    sse = sst = l0 = 0.0
    with torch.no_grad():
        mu = test.float().mean(0).to(sae.dev)
        for i in range(0, test.shape[0], 8192):
            x = test[i:i + 8192].to(sae.dev).float()
            f = sae.encode(x * scale)
            x_hat = (f @ sae.W_dec + sae.b_dec) / scale
            sse += float((x - x_hat).pow(2).sum())
            sst += float((x - mu).pow(2).sum())
            l0 += float((f > 0).sum())
    print(json.dumps({"peer": "torch_quality.py (pytorch " + torch.__version__ + ")", "arch": a.arch, "d_in": d,
                      "device": torch.cuda.get_device_name(sae.dev) if sae.dev.type == "cuda" else "cpu",
                      "n_latents": m, "k": a.k if a.arch == "topk" else None,
                      "l1": a.l1 if a.arch == "relu" else None, "batch": a.batch, "steps": steps,
                      "tokens": steps * a.batch, "lr": lr, "warmup": warm, "decay": a.decay,
                      "b_dec_init": a.b_dec_init, "normalize": a.normalize, "init_rows": a.init_rows, "init": a.init,
                      "decode": a.decode,
                      "scale": scale, "auxk_coef": a.auxk_coef,
                      "adam_eps": a.adam_eps, "train_rows": n, "test_rows": test.shape[0],
                      "test_fvu": round(sse / sst, 5), "test_l0": round(l0 / test.shape[0], 3),
                      "final_loss": float(loss), "seconds": round(train_s, 1),
                      "tokens_per_s": round(steps * a.batch / train_s, 1)}), flush=True)

if __name__ == "__main__":
    main()
