#!/usr/bin/env python3
"""The summary of scripts/gpu-check.sh: reads OUT_DIR (meta.txt, steps.tsv, logs/, selftest.json), writes
summary.md and summary.json there and prints the markdown.

    python3 scripts/gpu_check_summary.py OUT_DIR

Standard library only, so that it runs wherever the check's python3 does. Every number is taken from the steps'
own output (the last JSON line of `sae-train bench` and of scripts/bench/torch_step.py); a step that failed leaves
its cells as "-" and is listed under "Failed steps".
"""
import csv
import json
import os
import re
import statistics
import sys

# Dense (no sparsity) peaks in TFLOP/s from NVIDIA's data sheets: fp32 on the CUDA cores, tf32 and bf16 on the
# tensor cores. Matched against nvidia-smi's product name, first match wins (so NVL and PCIe before the SXM
# default). Our encoder product runs on TF32 tensor cores (cuBLAS TF32 or the project's mma.sync kernel), so the
# target compares it against the tf32 column; GPU_CHECK_PEAK_TFLOPS overrides it for a GPU not listed here.
PEAKS = [
    ("H200 NVL", {"fp32": 60.0, "tf32": 417.5, "bf16": 835.5, "name": "H200 NVL"}),
    ("H200", {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "name": "H200 SXM"}),
    ("H100 NVL", {"fp32": 60.0, "tf32": 417.5, "bf16": 835.5, "name": "H100 NVL"}),
    ("H100 PCIe", {"fp32": 51.2, "tf32": 378.0, "bf16": 756.0, "name": "H100 PCIe"}),
    ("H100", {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "name": "H100 SXM"}),
    ("A100", {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "name": "A100"}),
    ("L40S", {"fp32": 91.6, "tf32": 183.0, "bf16": 366.0, "name": "L40S"}),
    ("L4", {"fp32": 30.3, "tf32": 60.0, "bf16": 121.0, "name": "L4"}),
]
TARGET_VS_BF16 = 1.5      # our tokens/s over PyTorch bf16 eager (autocast) with the sparse decode
TARGET_PEAK_SHARE = 0.60  # encoder product alone over the GPU's dense TF32 peak
TARGET_STEP_OVER_GEMM = 1.3  # our TopK step's time over the encoder product's alone
DTYPES = ["fp32", "tf32", "bf16"]


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def last_json(path):
    """The last line of the file that parses as a JSON object, or None."""
    text = read_text(path)
    for line in reversed((text or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def read_steps(out):
    steps = []
    for row in csv.reader(open(os.path.join(out, "steps.tsv"), encoding="utf-8"), delimiter="\t"):
        steps.append({"step": row[0], "status": row[1], "exit": row[2], "seconds": float(row[3]),
                      "timeout_s": row[4], "note": row[5] if len(row) > 5 else ""})
    return steps


def gpu_info(out):
    """Name, driver, CUDA version and clocks from nvidia-smi's query line and -q dump, when they ran."""
    info = {}
    text = read_text(os.path.join(out, "logs", "nvidia-smi-query.out"))
    if text:
        rows = list(csv.reader(text.strip().splitlines()))
        if len(rows) >= 2:
            info.update({h.strip(): v.strip() for h, v in zip(rows[0], rows[1])})
    q = read_text(os.path.join(out, "logs", "nvidia-smi.out")) or ""
    for key, pattern in [("product_name", r"Product Name\s*:\s*(.+)"), ("driver", r"Driver Version\s*:\s*(\S+)"),
                         ("cuda", r"CUDA Version\s*:\s*(\S+)"), ("gpus", r"Attached GPUs\s*:\s*(\d+)")]:
        m = re.search(pattern, q)
        if m:
            info[key] = m.group(1).strip()
    samples = read_text(os.path.join(out, "logs", "gpu-samples.csv"))
    busy = []
    for row in csv.reader((samples or "").strip().splitlines()):
        try:
            sm, mem, power, temp, util = (float(v) for v in row[:5])
        except ValueError:
            continue
        if util >= 50:                       # the benches' own samples, not the gaps between processes
            busy.append((sm, mem, power, temp))
    if busy:
        info["under_load"] = {"samples": len(busy), "sm_clock_mhz_median": statistics.median(b[0] for b in busy),
                              "sm_clock_mhz_min": min(b[0] for b in busy),
                              "mem_clock_mhz_median": statistics.median(b[1] for b in busy),
                              "power_w_max": max(b[2] for b in busy), "temp_c_max": max(b[3] for b in busy)}
    return info


def peak_for(name):
    override = os.environ.get("GPU_CHECK_PEAK_TFLOPS")
    if override:
        return {"tf32": float(override), "name": "GPU_CHECK_PEAK_TFLOPS=" + override, "source": "the environment"}
    for key, peak in PEAKS:
        if name and key.lower() in name.lower():
            return peak
    return None


def fmt(v, spec="{:.0f}"):
    return "-" if v is None else spec.format(v)


def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "**not met**")


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: gpu_check_summary.py OUT_DIR")
    out = sys.argv[1]
    meta = dict(line.split("=", 1) for line in (read_text(os.path.join(out, "meta.txt")) or "").splitlines()
                if "=" in line)
    steps = read_steps(out)
    status = {s["step"]: s for s in steps}
    gpu = gpu_info(out)
    gpu_name = gpu.get("name") or gpu.get("product_name")
    peak = peak_for(gpu_name) if meta.get("device") == "cuda" else None

    shapes = []
    for spec in meta.get("shapes", "").split(","):
        d, x, k = (int(v) for v in spec.split())
        ours = last_json(os.path.join(out, "logs", f"bench-d{d}.out"))
        torch = {dt: last_json(os.path.join(out, "logs", f"torch-d{d}-{dt}.out")) for dt in DTYPES}
        tps = ours and ours.get("tokens_per_s")
        ratio = {dt: (tps / p["tokens_per_s"] if tps and p and p.get("tokens_per_s") else None)
                 for dt, p in torch.items()}
        gemm = ours and ours.get("gemm_gflops") and ours["gemm_gflops"] / 1e3  # gemm_tflops has 2 decimals only
        step_over_gemm = (ours["ms_step"] / ours["ms_gemm_alone"]
                          if ours and ours.get("ms_step") and ours.get("ms_gemm_alone") else None)
        share = gemm / peak["tf32"] if gemm and peak else None
        shapes.append({
            "d_in": d, "expansion": x, "k": k, "n_latents": d * x, "ours": ours, "torch": torch,
            "ratio_vs": ratio, "gemm_tflops": gemm, "peak_share_tf32": share, "step_over_gemm": step_over_gemm,
            "targets": {
                f"ours >= {TARGET_VS_BF16}x torch bf16":
                    None if ratio["bf16"] is None else ratio["bf16"] >= TARGET_VS_BF16,
                f"encoder product >= {TARGET_PEAK_SHARE:.0%} of dense TF32 peak":
                    None if share is None else share >= TARGET_PEAK_SHARE,
                f"step <= {TARGET_STEP_OVER_GEMM}x encoder product alone":
                    None if step_over_gemm is None else step_over_gemm <= TARGET_STEP_OVER_GEMM,
            }})

    selftest = {"exit": status.get("selftest", {}).get("exit"), "status": status.get("selftest", {}).get("status"),
                "json": None}
    st_text = read_text(os.path.join(out, "selftest.json"))
    if st_text:
        try:
            selftest["json"] = json.loads(st_text)
        except ValueError as e:
            selftest["json_error"] = str(e)
    failed = [s["step"] for s in steps if s["status"] in ("failed", "timeout")]

    md = []
    title = gpu_name or ("CPU rehearsal" if meta.get("device") == "cpu" else "unknown GPU")
    md.append(f"# GPU check: {title}")
    md.append("")
    md.append(f"- device `{meta.get('device')}`{' (small shapes)' if meta.get('small') == '1' else ''}, "
              f"started {meta.get('started')} on {meta.get('host')}, {meta.get('wall_s', '?')} s in all")
    md.append(f"- sae-train: `{meta.get('launcher')}`")
    if gpu:
        def q(prefix):  # a query column by its header's start: the headers carry units ("power.limit [W]")
            return next((v for h, v in gpu.items() if h.startswith(prefix)), "?")
        md.append(f"- GPU: {gpu_name}, driver {gpu.get('driver_version') or gpu.get('driver')}, CUDA "
                  f"{gpu.get('cuda', '?')}, memory {q('memory.total')}, power limit {q('power.limit')}, max clocks "
                  f"SM {q('clocks.max.sm')} / memory {q('clocks.max.mem')}, at the start SM {q('clocks.current.sm')} "
                  f"({q('pstate')})")
        load = gpu.get("under_load")
        if load:
            md.append(f"- under load ({load['samples']} samples at >= 50 % utilisation): SM clock median "
                      f"{load['sm_clock_mhz_median']:.0f} MHz (min {load['sm_clock_mhz_min']:.0f}), power max "
                      f"{load['power_w_max']:.0f} W, temperature max {load['temp_c_max']:.0f} C")
    if peak:
        md.append(f"- peak assumed ({peak['name']}, dense, {peak.get('source', 'data sheet')}): TF32 tensor "
                  f"{peak['tf32']} TFLOP/s"
                  + (f", FP32 non-tensor {peak['fp32']}, BF16 tensor {peak['bf16']}" if "fp32" in peak else "")
                  + "; our encoder product (TF32 tensor cores) is compared with the TF32 figure")
    elif meta.get("device") == "cuda":
        md.append(f"- peak: unknown for '{gpu_name}' (set GPU_CHECK_PEAK_TFLOPS to the dense TF32 TFLOP/s)")
    md.append(f"- batch {meta.get('batch')}, {meta.get('steps')} timed steps, TopK, random rows; PyTorch: "
              "scripts/bench/torch_step.py --decode sparse (embedding_bag), fp32 = TF32 off, tf32 = allow_tf32, "
              "bf16 = autocast with fp32 master weights and Adam")
    md.append("")
    md.append(f"**Failed steps: {', '.join(failed)}**" if failed else "All steps passed.")
    md.append("")

    md.append("## Training step, tokens/s")
    md.append("")
    md.append("| shape | ours | torch fp32 | torch tf32 | torch bf16 | ours / fp32 | ours / tf32 | ours / bf16 "
              f"| target ours / bf16 >= {TARGET_VS_BF16}x |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for s in shapes:
        t = s["torch"]
        md.append(f"| d={s['d_in']} x{s['expansion']} k={s['k']} ({s['n_latents']} latents) "
                  f"| {fmt(s['ours'] and s['ours'].get('tokens_per_s'))} "
                  + " ".join(f"| {fmt(t[dt] and t[dt].get('tokens_per_s'))}" for dt in DTYPES) + " "
                  + " ".join(f"| {fmt(s['ratio_vs'][dt], '{:.2f}x')}" for dt in DTYPES)
                  + f" | {verdict(s['targets'][f'ours >= {TARGET_VS_BF16}x torch bf16'])} |")
    md.append("")

    md.append("## Encoder product [batch, d] x [d, n_latents] and the step")
    md.append("")
    md.append("| shape | ours alone TFLOP/s | ours in the step | % of TF32 peak | torch tf32 alone | torch bf16 alone "
              f"| torch fp32 alone | our step ms | product alone ms | step / product | target >= "
              f"{TARGET_PEAK_SHARE:.0%} of peak | target step <= {TARGET_STEP_OVER_GEMM}x |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for s in shapes:
        o = s["ours"] or {}
        t = s["torch"]
        enc = o.get("encode_gflops")
        share = s["peak_share_tf32"]
        tg = s["targets"]
        md.append(f"| d={s['d_in']} x{s['expansion']} k={s['k']} | {fmt(s['gemm_tflops'], '{:.3g}')} "
                  f"| {fmt(enc and enc / 1e3, '{:.3g}')} "
                  f"| {fmt(None if share is None else 100 * share, '{:.0f} %')} "
                  + " ".join(f"| {fmt(t[dt] and t[dt].get('gemm_tflops'), '{:.3g}')}"
                             for dt in ["tf32", "bf16", "fp32"])
                  + f" | {fmt(o.get('ms_step'), '{:.2f}')} | {fmt(o.get('ms_gemm_alone'), '{:.3f}')} "
                  f"| {fmt(s['step_over_gemm'], '{:.2f}x')} "
                  f"| {verdict(tg[f'encoder product >= {TARGET_PEAK_SHARE:.0%} of dense TF32 peak'])} "
                  f"| {verdict(tg[f'step <= {TARGET_STEP_OVER_GEMM}x encoder product alone'])} |")
    md.append("")
    for s in shapes:
        if s["ours"]:
            md.append(f"- d={s['d_in']}: {s['ours'].get('device')}; L0 {s['ours'].get('l0')}")
    md.append("")

    md.append("## Selftest")
    md.append("")
    if selftest["status"] is None:
        md.append("not run")
    else:
        md.append(f"`sae-train selftest --device {meta.get('device')}`: {selftest['status']} "
                  f"(exit {selftest['exit']})"
                  + ("" if selftest["json"] is not None
                     else "; no selftest.json" + (f" ({selftest['json_error']})" if "json_error" in selftest else "")))
        if selftest["json"] is not None:
            md.extend(selftest_lines(selftest["json"]))
        err = read_text(os.path.join(out, "logs", "selftest.err")) or ""
        if selftest["status"] != "ok" and err.strip():
            md.append("")
            md.append("```")
            md.extend(err.strip().splitlines()[-5:])
            md.append("```")
    md.append("")

    md.append("## Train, stop, resume")
    md.append("")
    resume_status = next((s["status"] for s in steps if s["step"] == "train-resume"), None)
    resume_lines = [line for line in (read_text(os.path.join(out, "logs", "train-resume.out")) or "").splitlines()
                    + (read_text(os.path.join(out, "logs", "train-resume.err")) or "").splitlines()
                    if line.startswith("train-resume:")]
    if resume_status is None:
        md.append("not run")
    else:
        md.append(f"`scripts/train-resume-check.sh`: {resume_status}")
        md.extend(f"- {line[len('train-resume: '):]}" for line in resume_lines)
    md.append("")

    md.append("## Steps")
    md.append("")
    md.append("| step | status | exit | seconds | timeout s |")
    md.append("|---|---|---:|---:|---:|")
    for s in steps:
        note = f" ({s['note']})" if s["note"] else ""
        md.append(f"| {s['step']} | {s['status']}{note} | {s['exit']} | {s['seconds']:.1f} | {s['timeout_s']} |")
    md.append("")
    text = "\n".join(md)

    with open(os.path.join(out, "summary.md"), "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "gpu": gpu, "peak_tflops": peak, "failed_steps": failed, "steps": steps,
                   "shapes": shapes, "selftest": selftest,
                   "train_resume": {"status": resume_status, "lines": resume_lines}}, f, indent=1)
    print(text)



def selftest_lines(j):
    """selftest.json in a few markdown lines: the environment, the counts, and every check that did not pass."""
    out = [""]
    env = j.get("environment", {})
    out.append("- environment: " + "; ".join(f"{k} {v}" for k, v in env.items()))
    out.append(f"- checks: {j.get('checks_passed')} passed, {j.get('checks_failed')} failed, "
               f"{j.get('seconds', 0):.0f} s" + (" (--quick)" if j.get("quick") else ""))
    bad = [o for o in j.get("ops", []) if o.get("status") != "PASS"]
    bad += [dict(s, name="step " + s.get("arch", "?")) for s in j.get("step_parity", []) if s.get("status") != "PASS"]
    for o in bad:
        out.append(f"- **{o.get('status')}** {o.get('name')}: worst err {o.get('worst_err', o.get('worst_rel_l2'))} "
                   f"(tol {o.get('tolerance', o.get('worst_tolerance'))}) {o.get('shape', '')} {o.get('worst_in', '')}")
    e2e = j.get("e2e") or {}
    if e2e:
        out.append(f"- end to end: {e2e.get('status')}, FVU {e2e.get('fvu', float('nan')):.4f}, "
                   f"L0 {e2e.get('l0', float('nan')):.2f}, recovered {100 * e2e.get('fraction_recovered_0.9', 0):.1f} % "
                   f"at cos >= 0.9 ({e2e.get('bar', '')})")
    for b in j.get("bench", []):
        out.append(f"- bench {b.get('arch')}: {b.get('tokens_per_s', 0):.0f} tokens/s, encoder product "
                   f"{b.get('gemm_tflops', 0):.3f} TFLOP/s [{b.get('size')}]")
    return out

if __name__ == "__main__":
    main()
