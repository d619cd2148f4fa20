package dev.saetrain.device.cpu;

import dev.saetrain.device.GroupEnds;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.arch.MatryoshkaOps;

/**
 * CPU kernels of the Matryoshka loss (Bussmann, Nabeshima, Karvonen and Nanda 2025, "Learning Multi-Level
 * Features with Matryoshka Sparse Autoencoders"): nested prefix reconstructions and their sparse decoder
 * backward. Formulas are in {@link MatryoshkaOps#matryoshkaDecode} and
 * {@link MatryoshkaOps#matryoshkaDecoderBackward}.
 *
 * <p>The decode keeps one partial reconstruction per group for the row in hand ([groups, dIn] scratch), adds
 * the groups up as prefixes, and writes the suffix sums of their residuals; the backward then reads one suffix
 * row per active entry. Both cost O(|S| dIn + batch groups dIn); no [batch, nLatents] product appears.
 * Per-group error sums add rows in chunk order, so they do not depend on thread scheduling.
 */
final class MatryoshkaKernels {
    private static final int ROW_GRAIN = 4;

    private final Parallel par;

    MatryoshkaKernels(Parallel par) {
        this.par = par;
    }

    /** The group of latent i: the first g with i < ends[g] (binary search). */
    static int groupOf(int[] ends, int groups, int i) {
        int lo = 0;
        int hi = groups - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (i < ends[mid]) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    double[] decode(SparseActs acts, CpuFloatBuf wDec, CpuFloatBuf bDec, CpuFloatBuf target, int[] ends, int groups,
                    int batch, int dIn, int nLatents, CpuFloatBuf xHat, CpuFloatBuf err, CpuFloatBuf suffix) {
        GroupEnds.check(ends, groups, nLatents);
        int[] rowPtr = CpuDevice.ia(acts.rowPtr());
        int[] idx = CpuDevice.ia(acts.idx());
        CpuFloatBuf val = CpuDevice.fb(acts.val());
        long slab = (long) batch * dIn;
        int chunks = par.chunks(batch, ROW_GRAIN);
        double[][] partial = new double[Math.max(1, chunks)][groups];
        par.forChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
            float[] part = new float[groups * dIn];   // group g's contribution to the row in hand
            float[] acc = new float[dIn];
            float[] errs = new float[groups * dIn];
            double[] sse = partial[ch];
            for (int b = lo; b < hi; b++) {
                java.util.Arrays.fill(part, 0f);
                for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                    float v = val.get(e);
                    if (v == 0f) {
                        continue;
                    }
                    int i = idx[e];
                    int po = groupOf(ends, groups, i) * dIn;
                    long o = (long) i * dIn;
                    for (int j = 0; j < dIn; j++) {
                        part[po + j] += v * wDec.get(o + j);
                    }
                }
                long xo = (long) b * dIn;
                for (int j = 0; j < dIn; j++) {
                    acc[j] = bDec.get(j);
                }
                for (int g = 0; g < groups; g++) {
                    double s = 0;
                    int po = g * dIn;
                    for (int j = 0; j < dIn; j++) {
                        acc[j] += part[po + j];
                        float d = acc[j] - target.get(xo + j);
                        errs[po + j] = d;
                        s += (double) d * d;
                    }
                    sse[g] += s;
                }
                for (int j = 0; j < dIn; j++) {
                    xHat.put(xo + j, acc[j]);
                    err.put(xo + j, errs[(groups - 1) * dIn + j]);
                    float run = 0f;
                    for (int g = groups - 1; g >= 0; g--) {
                        run += errs[g * dIn + j];
                        suffix.put(g * slab + xo + j, run);
                    }
                }
            }
        });
        double[] total = new double[groups];
        for (double[] p : partial) {
            for (int g = 0; g < groups; g++) {
                total[g] += p[g];
            }
        }
        return total;
    }

    void decoderBackward(SparseActs acts, CpuFloatBuf suffix, int[] ends, int groups, float scale, CpuFloatBuf wDec,
                         int batch, int dIn, int nLatents, CpuFloatBuf dWDec, int[] rowActive) {
        GroupEnds.check(ends, groups, nLatents);
        int[] rowPtr = CpuDevice.ia(acts.rowPtr());
        int[] idx = CpuDevice.ia(acts.idx());
        CpuFloatBuf val = CpuDevice.fb(acts.val());
        CpuFloatBuf grad = CpuDevice.fb(acts.grad());
        long slab = (long) batch * dIn;
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            for (int b = lo; b < hi; b++) {
                for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                    if (val.get(e) <= 0) {
                        grad.put(e, 0f);
                        continue;
                    }
                    int i = idx[e];
                    long so = groupOf(ends, groups, i) * slab + (long) b * dIn;
                    long o = (long) i * dIn;
                    double dot = 0;
                    for (int j = 0; j < dIn; j++) {
                        dot += suffix.get(so + j) * wDec.get(o + j);
                    }
                    grad.put(e, (float) (scale * dot));
                }
            }
        });
        SparseKernels.ByLatent bl = SparseKernels.byLatent(acts, nLatents, val);
        par.forRange(nLatents, 64, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                int s = bl.start()[i];
                int t = bl.start()[i + 1];
                if (s == t) {
                    continue;
                }
                long o = (long) i * dIn;
                long go = groupOf(ends, groups, i) * slab;
                SparseKernels.claimRow(dWDec, i, dIn, rowActive);
                for (int q = s; q < t; q++) {
                    int e = bl.order()[q];
                    float c = scale * val.get(e);
                    long so = go + (long) bl.rows()[e] * dIn;
                    for (int j = 0; j < dIn; j++) {
                        dWDec.put(o + j, dWDec.get(o + j) + c * suffix.get(so + j));
                    }
                }
            }
        });
    }
}
