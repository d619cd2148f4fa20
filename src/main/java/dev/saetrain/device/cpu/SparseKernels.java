package dev.saetrain.device.cpu;

import dev.saetrain.device.SparseActs;
import java.nio.FloatBuffer;

/**
 * The sparse half of the CPU step: TopK and ReLU selection into CSR rows, sparse decode, and the sparse
 * backward. Backward products are organised by latent: the active (row, latent) pairs are bucketed by
 * latent (a counting sort), so each gradient row is accumulated by one thread in one pass, without atomics.
 * Cost is O(|S| dIn) for S the active pairs, never O(batch nLatents dIn).
 */
final class SparseKernels {
    private static final int ROW_GRAIN = 4;

    private final Parallel par;

    SparseKernels(Parallel par) {
        this.par = par;
    }

    private static int[] ia(dev.saetrain.device.IntBuf b) {
        return CpuDevice.ia(b);
    }

    /**
     * Makes row i of a row-sparse gradient ready to accumulate into: zeroes it and sets its flag the first
     * time it is touched in a step (Device's rowActive contract). Only one thread ever owns row i.
     */
    static void claimRow(FloatBuffer grad, int i, int cols, int[] rowActive) {
        if (rowActive[i] == 0) {
            int o = i * cols;
            for (int j = 0; j < cols; j++) {
                grad.put(o + j, 0f);
            }
            rowActive[i] = 1;
        }
    }

    /** See Device.topk. A k-slot min-heap per row: one compare per entry, a sift only when it enters. */
    void topk(FloatBuffer pre, int batch, int nLatents, int k, int[] lastFired, int deadBefore, SparseActs out) {
        if ((long) batch * k > out.capacity()) {
            throw new IllegalArgumentException("topk needs " + (long) batch * k + " entries, buffer holds " + out.capacity());
        }
        int[] rowPtr = ia(out.rowPtr());
        int[] idx = ia(out.idx());
        FloatBuffer val = CpuDevice.fb(out.val());
        for (int b = 0; b <= batch; b++) {
            rowPtr[b] = b * k;
        }
        int chunks = par.chunks(batch, ROW_GRAIN);
        if (topkRows == null || topkRows.length < chunks || topkRows[0].length < nLatents) {
            topkRows = new float[Math.max(1, chunks)][nLatents];
        }
        float[][] rows = topkRows;
        par.forChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
            float[] hv = new float[k];
            int[] hi2 = new int[k];
            float[] row = rows[ch];
            for (int b = lo; b < hi; b++) {
                // One bulk copy of the row (a memcpy) and a scan over the heap array: the JIT keeps the running
                // k-th largest in a register and the compare is a predictable branch for all but ~k ln(m/k) entries.
                pre.get(b * nLatents, row, 0, nLatents);
                int n = 0;
                int i = 0;
                if (lastFired == null) {
                    for (; i < nLatents && n < k; i++) {
                        hv[n] = row[i];
                        hi2[n] = i;
                        siftUp(hv, hi2, n);
                        n++;
                    }
                    float min = n == k ? hv[0] : Float.POSITIVE_INFINITY;
                    for (; i < nLatents; i++) {
                        float v = row[i];
                        if (v > min) {
                            hv[0] = v;
                            hi2[0] = i;
                            siftDown(hv, hi2, k);
                            min = hv[0];
                        }
                    }
                } else {
                    for (; i < nLatents; i++) {
                        if (lastFired[i] > deadBefore) {
                            continue;
                        }
                        float v = row[i];
                        if (n < k) {
                            hv[n] = v;
                            hi2[n] = i;
                            siftUp(hv, hi2, n);
                            n++;
                        } else if (v > hv[0]) {
                            hv[0] = v;
                            hi2[0] = i;
                            siftDown(hv, hi2, k);
                        }
                    }
                }
                if (n < k) {
                    throw new IllegalArgumentException("topk: only " + n + " candidate latents for k = " + k
                            + "; the caller must clamp k to the number of candidates");
                }
                int o = b * k;
                for (int r = 0; r < k; r++) {
                    idx[o + r] = hi2[r];
                    val.put(o + r, Math.max(0f, hv[r]));
                }
            }
        });
    }

    private static void siftUp(float[] hv, int[] hi, int c) {
        while (c > 0) {
            int p = (c - 1) >>> 1;
            if (hv[p] <= hv[c]) {
                return;
            }
            swap(hv, hi, p, c);
            c = p;
        }
    }

    private static void siftDown(float[] hv, int[] hi, int n) {
        int p = 0;
        while (true) {
            int l = 2 * p + 1;
            if (l >= n) {
                return;
            }
            int c = l + 1 < n && hv[l + 1] < hv[l] ? l + 1 : l;
            if (hv[p] <= hv[c]) {
                return;
            }
            swap(hv, hi, p, c);
            p = c;
        }
    }

    private static void swap(float[] hv, int[] hi, int a, int b) {
        float t = hv[a];
        hv[a] = hv[b];
        hv[b] = t;
        int u = hi[a];
        hi[a] = hi[b];
        hi[b] = u;
    }

    /** See Device.reluSparse: count per row, prefix sum, then fill. */
    long reluSparse(FloatBuffer pre, int batch, int nLatents, SparseActs out) {
        return compactAbove(par, pre, null, batch, nLatents, out);
    }

    /**
     * Compacts the entries of pre [batch, nLatents] with pre[b, i] > threshold[i] (> 0 when threshold is null)
     * into CSR rows of {@code out}, latents in increasing order, values as they are: count per row, prefix sum,
     * fill. Returns the number of entries, or -1 (only rowPtr written) when they exceed out.capacity(). Shared by
     * the ReLU, JumpReLU and gated compactions.
     */
    static long compactAbove(Parallel par, FloatBuffer pre, FloatBuffer threshold, int batch, int nLatents,
                             SparseActs out) {
        int[] rowPtr = ia(out.rowPtr());
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            for (int b = lo; b < hi; b++) {
                int base = b * nLatents;
                int c = 0;
                for (int i = 0; i < nLatents; i++) {
                    c += pre.get(base + i) > (threshold == null ? 0f : threshold.get(i)) ? 1 : 0;
                }
                rowPtr[b + 1] = c;
            }
        });
        long total = prefixRowCounts(rowPtr, batch);
        if (total > out.capacity()) {
            return -1;
        }
        int[] idx = ia(out.idx());
        FloatBuffer val = CpuDevice.fb(out.val());
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            for (int b = lo; b < hi; b++) {
                int base = b * nLatents;
                int e = rowPtr[b];
                for (int i = 0; i < nLatents; i++) {
                    float v = pre.get(base + i);
                    if (v > (threshold == null ? 0f : threshold.get(i))) {
                        idx[e] = i;
                        val.put(e, v);
                        e++;
                    }
                }
            }
        });
        return total;
    }

    /**
     * Turns per-row counts held in rowPtr[1..batch] into CSR row pointers (rowPtr[0] = 0) and returns the total
     * number of entries (pointers past 2^31 - 1 saturate; callers refuse totals above their capacity).
     */
    private static long prefixRowCounts(int[] rowPtr, int batch) {
        rowPtr[0] = 0;
        long total = 0;
        for (int b = 1; b <= batch; b++) {
            total += rowPtr[b];
            rowPtr[b] = (int) Math.min(total, Integer.MAX_VALUE);
        }
        return total;
    }

    /** See Device.recordFires. Sequential: |S| is small next to the products. */
    void recordFires(SparseActs acts, int nLatents, int[] counts, int[] lastFired, int step, FloatBuffer actSums) {
        int[] rowPtr = ia(acts.rowPtr());
        int[] idx = ia(acts.idx());
        FloatBuffer val = CpuDevice.fb(acts.val());
        if (actSums != null) {
            for (int i = 0; i < nLatents; i++) {
                actSums.put(i, 0f);
            }
        }
        int n = rowPtr[acts.batch()];
        for (int e = 0; e < n; e++) {
            float v = val.get(e);
            if (v > 0) {
                int i = idx[e];
                counts[i]++;
                lastFired[i] = step;
                if (actSums != null) {
                    actSums.put(i, actSums.get(i) + v);
                }
            }
        }
    }

    /**
     * See Device.sparseDecode: one pass per row over its active latents. W_dec rows and the row's target are
     * bulk-copied into heap arrays so the inner loops run on arrays (vectorised by the JIT) instead of
     * bounds-checked buffer gets; the arithmetic and its order are unchanged.
     */
    double decode(SparseActs acts, FloatBuffer wDec, FloatBuffer bDec, FloatBuffer target, int batch, int dIn,
                  FloatBuffer xHat, FloatBuffer err) {
        int[] rowPtr = ia(acts.rowPtr());
        int[] idx = ia(acts.idx());
        FloatBuffer val = CpuDevice.fb(acts.val());
        float[] bias = new float[dIn];
        if (bDec != null) {
            bDec.get(0, bias, 0, dIn);
        }
        return par.sumRange(batch, ROW_GRAIN, (lo, hi) -> {
            float[] acc = new float[dIn];
            float[] w = new float[dIn];
            float[] e = new float[dIn];
            double s = 0;
            for (int b = lo; b < hi; b++) {
                System.arraycopy(bias, 0, acc, 0, dIn);
                for (int q = rowPtr[b]; q < rowPtr[b + 1]; q++) {
                    float v = val.get(q);
                    if (v == 0f) {
                        continue;
                    }
                    wDec.get(idx[q] * dIn, w, 0, dIn);
                    for (int j = 0; j < dIn; j++) {
                        acc[j] += v * w[j];
                    }
                }
                int o = b * dIn;
                target.get(o, e, 0, dIn);
                for (int j = 0; j < dIn; j++) {
                    e[j] = acc[j] - e[j];
                }
                for (int j = 0; j < dIn; j++) {
                    s += (double) e[j] * e[j];
                }
                xHat.put(o, acc, 0, dIn);
                err.put(o, e, 0, dIn);
            }
            return s;
        });
    }

    /**
     * The active pairs bucketed by latent: entries of latent i are {@code order[start[i] .. start[i+1])},
     * each an entry index e into acts; rows[e] gives the row of entry e. Only entries with value > 0.
     */
    record ByLatent(int[] start, int[] order, int[] rows, int[] fillPos) {
    }

    private ByLatent byLatentScratch;
    private float[][] topkRows; // one row buffer per chunk of topk's rows, kept across steps

    static ByLatent byLatent(SparseActs acts, int nLatents, FloatBuffer val) {
        return byLatent(acts, nLatents, val, null);
    }

    /** byLatent with its arrays taken from (and grown into) {@code reuse} when not null: no per-step garbage. */
    static ByLatent byLatent(SparseActs acts, int nLatents, FloatBuffer val, ByLatent reuse) {
        int[] rowPtr = ia(acts.rowPtr());
        int[] idx = ia(acts.idx());
        int batch = acts.batch();
        int n = rowPtr[batch];
        int[] rows = reuse != null && reuse.rows.length >= n ? reuse.rows : new int[n];
        int[] start = reuse != null && reuse.start.length >= nLatents + 1 ? reuse.start : new int[nLatents + 1];
        java.util.Arrays.fill(start, 0, nLatents + 1, 0);
        for (int b = 0; b < batch; b++) {
            for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                rows[e] = b;
                if (val.get(e) > 0) {
                    start[idx[e] + 1]++;
                }
            }
        }
        for (int i = 0; i < nLatents; i++) {
            start[i + 1] += start[i];
        }
        int[] order = reuse != null && reuse.order.length >= start[nLatents] ? reuse.order : new int[start[nLatents]];
        int[] fillPos = reuse != null && reuse.fillPos != null && reuse.fillPos.length >= nLatents ? reuse.fillPos
                : new int[nLatents];
        System.arraycopy(start, 0, fillPos, 0, nLatents);
        for (int e = 0; e < n; e++) {
            if (val.get(e) > 0) {
                order[fillPos[idx[e]]++] = e;
            }
        }
        return new ByLatent(start, order, rows, fillPos);
    }

    /**
     * dot(a, b) over [0, n) in double, in four interleaved partial sums (j mod 4) added at the end: a fixed order,
     * so deterministic, and four independent add chains instead of one latency-bound chain.
     */
    static double dot4(float[] a, float[] b, int n) {
        return dot4(a, 0, b, n);
    }

    /** Loads gradient row i into acc for accumulation: its current value if already claimed this step, else 0. */
    private static void openRow(FloatBuffer grad, int i, int cols, int[] rowActive, float[] acc) {
        if (rowActive[i] != 0) {
            grad.get(i * cols, acc, 0, cols);
        } else {
            java.util.Arrays.fill(acc, 0, cols, 0f);
            rowActive[i] = 1;
        }
    }

    /**
     * See Device.sparseDecoderBackward. Rows of err and W_dec are bulk-copied into heap arrays; each gradient row
     * is accumulated in a heap array and written once.
     */
    void decoderBackward(SparseActs acts, FloatBuffer err, float scale, FloatBuffer wDec, FloatBuffer l1PerLatent,
                         int batch, int dIn, int nLatents, FloatBuffer dWDec, int[] rowActive) {
        int[] rowPtr = ia(acts.rowPtr());
        int[] idx = ia(acts.idx());
        FloatBuffer val = CpuDevice.fb(acts.val());
        FloatBuffer grad = CpuDevice.fb(acts.grad());
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            float[] er = new float[dIn];
            float[] w = new float[dIn];
            for (int b = lo; b < hi; b++) {
                err.get(b * dIn, er, 0, dIn);
                for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                    if (val.get(e) <= 0) {
                        grad.put(e, 0f);
                        continue;
                    }
                    int i = idx[e];
                    wDec.get(i * dIn, w, 0, dIn);
                    double dot = dot4(er, w, dIn);
                    grad.put(e, (float) (scale * dot) + (l1PerLatent == null ? 0f : l1PerLatent.get(i)));
                }
            }
        });
        ByLatent bl = byLatent(acts, nLatents, val);
        par.forRange(nLatents, 64, (lo, hi) -> {
            float[] acc = new float[dIn];
            float[] er = new float[dIn];
            for (int i = lo; i < hi; i++) {
                int s = bl.start[i];
                int t = bl.start[i + 1];
                if (s == t) {
                    continue;
                }
                openRow(dWDec, i, dIn, rowActive, acc);
                for (int q = s; q < t; q++) {
                    int e = bl.order[q];
                    float c = scale * val.get(e);
                    err.get(bl.rows[e] * dIn, er, 0, dIn);
                    for (int j = 0; j < dIn; j++) {
                        acc[j] += c * er[j];
                    }
                }
                dWDec.put(i * dIn, acc, 0, dIn);
            }
        });
    }

    /** See Device.sparseEncoderBackward; the same row handling as decoderBackward. */
    void encoderBackward(SparseActs acts, FloatBuffer xIn, int batch, int dIn, int nLatents,
                         FloatBuffer dWEnc, FloatBuffer dBEnc, int[] rowActive) {
        FloatBuffer val = CpuDevice.fb(acts.val());
        FloatBuffer grad = CpuDevice.fb(acts.grad());
        ByLatent bl = byLatent(acts, nLatents, val);
        par.forRange(nLatents, 64, (lo, hi) -> {
            float[] acc = new float[dIn];
            float[] xr = new float[dIn];
            for (int i = lo; i < hi; i++) {
                int s = bl.start[i];
                int t = bl.start[i + 1];
                if (s == t) {
                    continue;
                }
                openRow(dWEnc, i, dIn, rowActive, acc);
                double bsum = 0;
                for (int q = s; q < t; q++) {
                    int e = bl.order[q];
                    float g = grad.get(e);
                    bsum += g;
                    xIn.get(bl.rows[e] * dIn, xr, 0, dIn);
                    for (int j = 0; j < dIn; j++) {
                        acc[j] += g * xr[j];
                    }
                }
                dWEnc.put(i * dIn, acc, 0, dIn);
                dBEnc.put(i, dBEnc.get(i) + (float) bsum);
            }
        });
    }

    private float[] errScratch = new float[0];
    private float[] xScratch = new float[0];

    /** {@code scratch} grown to n floats (kept: the step's buffers have fixed sizes) holding src[0..n). */
    private float[] heapCopy(FloatBuffer src, int n, float[] scratch) {
        float[] a = scratch.length >= n ? scratch : new float[n];
        par.forRange(n, 1 << 16, (lo, hi) -> src.get(lo, a, lo, hi - lo));
        return a;
    }

    /**
     * See Device.sparseBackward: decoderBackward and encoderBackward in one walk over the active latents. err and
     * xIn are copied once into heap arrays (batch * dIn floats each, reused across steps), each W_dec row of an
     * active latent is read once, and for each of its entries the row's err and xIn are read once: the df dot
     * product, the dW_dec and dW_enc rows and db_enc accumulate together. Per latent, entries are summed in the
     * same order as the two separate ops, so non-tied results are the same bits. dWEnc null: tied, the encoder
     * term adds into dWDec (flags decActive).
     */
    void backward(SparseActs acts, FloatBuffer err, float scale, FloatBuffer wDec, FloatBuffer l1PerLatent,
                  FloatBuffer xIn, int batch, int dIn, int nLatents, FloatBuffer dWDec, int[] decActive,
                  FloatBuffer dWEnc, FloatBuffer dBEnc, int[] encActive) {
        FloatBuffer val = CpuDevice.fb(acts.val());
        FloatBuffer grad = CpuDevice.fb(acts.grad());
        int n = ia(acts.rowPtr())[batch];
        for (int e = 0; e < n; e++) {
            if (val.get(e) <= 0) {
                grad.put(e, 0f);
            }
        }
        ByLatent bl = byLatentScratch = byLatent(acts, nLatents, val, byLatentScratch);
        float[] errH = errScratch = heapCopy(err, batch * dIn, errScratch);
        float[] xH = xScratch = heapCopy(xIn, batch * dIn, xScratch);
        par.forRange(nLatents, 64, (lo, hi) -> {
            float[] w = new float[dIn];
            float[] accD = new float[dIn];
            float[] accE = new float[dIn];
            float[] er = new float[dIn];
            float[] xr = new float[dIn];
            for (int i = lo; i < hi; i++) {
                int s = bl.start()[i];
                int t = bl.start()[i + 1];
                if (s == t) {
                    continue;
                }
                wDec.get(i * dIn, w, 0, dIn);
                openRow(dWDec, i, dIn, decActive, accD);
                if (dWEnc != null) {
                    openRow(dWEnc, i, dIn, encActive, accE);
                } else {
                    java.util.Arrays.fill(accE, 0f);
                }
                float l1 = l1PerLatent == null ? 0f : l1PerLatent.get(i);
                double bsum = 0;
                for (int q = s; q < t; q++) {
                    int e = bl.order()[q];
                    int o = bl.rows()[e] * dIn;
                    System.arraycopy(errH, o, er, 0, dIn);
                    System.arraycopy(xH, o, xr, 0, dIn);
                    float g = (float) (scale * dot4(er, w, dIn)) + l1;
                    grad.put(e, g);
                    bsum += g;
                    float c = scale * val.get(e);
                    for (int j = 0; j < dIn; j++) {
                        accD[j] += c * er[j];
                    }
                    for (int j = 0; j < dIn; j++) {
                        accE[j] += g * xr[j];
                    }
                }
                if (dWEnc != null) {
                    dWEnc.put(i * dIn, accE, 0, dIn);
                } else {
                    for (int j = 0; j < dIn; j++) {
                        accD[j] += accE[j];
                    }
                }
                dWDec.put(i * dIn, accD, 0, dIn);
                dBEnc.put(i, dBEnc.get(i) + (float) bsum);
            }
        });
    }

    /** dot4 over a[aOff .. aOff + n) and b[0 .. n). */
    static double dot4(float[] a, int aOff, float[] b, int n) {
        double d0 = 0;
        double d1 = 0;
        double d2 = 0;
        double d3 = 0;
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            d0 += a[aOff + j] * b[j];
            d1 += a[aOff + j + 1] * b[j + 1];
            d2 += a[aOff + j + 2] * b[j + 2];
            d3 += a[aOff + j + 3] * b[j + 3];
        }
        for (; j < n; j++) {
            d0 += a[aOff + j] * b[j];
        }
        return (d0 + d1) + (d2 + d3);
    }
}
