package dev.saetrain.device.cpu;

import dev.saetrain.device.SparseActs;
import java.nio.FloatBuffer;

/**
 * CPU kernels of the threshold architectures: BatchTopK selection (Bussmann, Leask and Nanda 2024) and the
 * JumpReLU activation with its straight-through threshold gradient (Rajamanoharan et al. 2024). Formulas are
 * in {@link dev.saetrain.device.Device}. Every reduction adds in row order, so results do not depend on the
 * thread count.
 */
final class ThresholdKernels {
    private static final int ROW_GRAIN = 4;
    /** Radix select over the bits of positive floats: 15 high bits (sign is 0), then 16 low bits. */
    private static final int HIGH_BUCKETS = 1 << 15;
    private static final int LOW_BUCKETS = 1 << 16;

    private final Parallel par;
    private final Compaction compaction;

    ThresholdKernels(Parallel par) {
        this.par = par;
        this.compaction = new Compaction(par, ROW_GRAIN);
    }

    /**
     * See Device.batchTopk. The r-th largest positive value is found without sorting by a two-pass radix
     * select on its bit pattern (for floats > 0 the int bits order like the values): a histogram of the high
     * 16 bits finds the bucket holding rank r, a histogram of the low 16 bits inside that bucket finds the
     * exact value T. Then each row counts its entries > T and == T, ties are handed out in row order, and
     * rows are compacted in parallel. Four passes over pre, O(batch * nLatents), no allocation of that size.
     */
    long batchTopk(FloatBuffer pre, int batch, int nLatents, long kTotal, SparseActs out, FloatBuffer minKept) {
        if (kTotal > out.capacity()) {
            throw new IllegalArgumentException("batchTopk keeps up to " + kTotal + " entries, buffer holds "
                    + out.capacity());
        }
        int grain = Math.max(ROW_GRAIN, (batch + par.threads() - 1) / par.threads());
        int chunks = par.chunks(batch, grain);
        long[][] high = new long[Math.max(1, chunks)][];
        par.forChunks(batch, grain, (ch, lo, hi) -> {
            long[] h = new long[HIGH_BUCKETS];
            for (int b = lo; b < hi; b++) {
                int base = b * nLatents;
                for (int i = 0; i < nLatents; i++) {
                    float v = pre.get(base + i);
                    if (v > 0) {
                        h[Float.floatToRawIntBits(v) >>> 16]++;
                    }
                }
            }
            high[ch] = h;
        });
        long[] hist = merge(high, HIGH_BUCKETS);
        long positives = 0;
        for (long c : hist) {
            positives += c;
        }
        int[] rowPtr = CpuDevice.ia(out.rowPtr());
        long r = Math.min(kTotal, positives);
        if (r == 0) {
            java.util.Arrays.fill(rowPtr, 0, batch + 1, 0);
            minKept.put(0, 0f);
            return 0;
        }
        long above = 0;
        int hBucket = HIGH_BUCKETS - 1;
        while (above + hist[hBucket] < r) {
            above += hist[hBucket];
            hBucket--;
        }
        int hb = hBucket;
        long[][] low = new long[Math.max(1, chunks)][];
        par.forChunks(batch, grain, (ch, lo, hi) -> {
            long[] h = new long[LOW_BUCKETS];
            for (int b = lo; b < hi; b++) {
                int base = b * nLatents;
                for (int i = 0; i < nLatents; i++) {
                    float v = pre.get(base + i);
                    if (v > 0) {
                        int key = Float.floatToRawIntBits(v);
                        if (key >>> 16 == hb) {
                            h[key & 0xffff]++;
                        }
                    }
                }
            }
            low[ch] = h;
        });
        long[] lowHist = merge(low, LOW_BUCKETS);
        int lBucket = LOW_BUCKETS - 1;
        while (above + lowHist[lBucket] < r) {
            above += lowHist[lBucket];
            lBucket--;
        }
        int t = (hb << 16) | lBucket;
        long need = r - above; // entries equal to T that are kept, 1 <= need <= count of T
        int[] gt = new int[batch];
        int[] eq = new int[batch];
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            for (int b = lo; b < hi; b++) {
                int base = b * nLatents;
                int g = 0;
                int e = 0;
                for (int i = 0; i < nLatents; i++) {
                    float v = pre.get(base + i);
                    if (v > 0) {
                        int key = Float.floatToRawIntBits(v);
                        g += key > t ? 1 : 0;
                        e += key == t ? 1 : 0;
                    }
                }
                gt[b] = g;
                eq[b] = e;
            }
        });
        int[] takeEq = new int[batch];
        rowPtr[0] = 0;
        for (int b = 0; b < batch; b++) {
            takeEq[b] = (int) Math.min(eq[b], need);
            need -= takeEq[b];
            rowPtr[b + 1] = rowPtr[b] + gt[b] + takeEq[b];
        }
        int[] idx = CpuDevice.ia(out.idx());
        FloatBuffer val = CpuDevice.fb(out.val());
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            for (int b = lo; b < hi; b++) {
                int base = b * nLatents;
                int e = rowPtr[b];
                int ties = takeEq[b];
                for (int i = 0; i < nLatents; i++) {
                    float v = pre.get(base + i);
                    if (v > 0) {
                        int key = Float.floatToRawIntBits(v);
                        if (key > t || (key == t && ties-- > 0)) {
                            idx[e] = i;
                            val.put(e, v);
                            e++;
                        }
                    }
                }
            }
        });
        minKept.put(0, Float.intBitsToFloat(t));
        return r;
    }

    private static long[] merge(long[][] parts, int n) {
        long[] out = new long[n];
        for (long[] p : parts) {
            if (p != null) {
                for (int i = 0; i < n; i++) {
                    out[i] += p[i];
                }
            }
        }
        return out;
    }

    /** See Device.expInto. */
    void expInto(FloatBuffer src, FloatBuffer dst, int n) {
        par.forRange(n, 1 << 12, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                dst.put(i, (float) Math.exp(src.get(i)));
            }
        });
    }

    /** See Device.jumpReluSparse: one read of pre (see Compaction). */
    long jumpReluSparse(FloatBuffer pre, FloatBuffer threshold, int batch, int nLatents, SparseActs out) {
        return compaction.compactAbove(pre, threshold, batch, nLatents, out);
    }

    /** See Device.jumpReluDense. */
    long jumpReluDense(FloatBuffer pre, FloatBuffer threshold, int batch, int nLatents, FloatBuffer f) {
        return Math.round(par.sumRange(batch, ROW_GRAIN, (lo, hi) -> {
            long c = 0;
            for (int b = lo; b < hi; b++) {
                int base = b * nLatents;
                for (int i = 0; i < nLatents; i++) {
                    float v = pre.get(base + i);
                    boolean on = v > threshold.get(i);
                    f.put(base + i, on ? v : 0f);
                    c += on ? 1 : 0;
                }
            }
            return c;
        }));
    }

    /**
     * See Device.jumpReluThresholdBackward. Only entries within eps/2 of their threshold contribute, a small
     * fraction of the batch; chunks of rows collect (latent, contribution) pairs, which are then added per
     * latent in row order.
     */
    void jumpReluThresholdBackward(FloatBuffer pre, FloatBuffer threshold, FloatBuffer err, float scale,
                                   FloatBuffer wDec, float eps, float l0Scale, int batch, int dIn, int nLatents,
                                   FloatBuffer dLogThreshold) {
        double half = eps / 2.0;
        float[] th = new float[nLatents];
        threshold.get(0, th, 0, nLatents);
        int chunks = par.chunks(batch, ROW_GRAIN);
        int[][] hitLatent = new int[Math.max(1, chunks)][];
        double[][] hitValue = new double[Math.max(1, chunks)][];
        int[] hitCount = new int[Math.max(1, chunks)];
        par.forChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
            // Rows, err rows and W_dec rows are copied to heap arrays (bulk copies): the scan and the dot products
            // then run on plain arrays, not one direct-buffer read per element (5x faster per window entry).
            float[] row = par.floats(0, nLatents);
            float[] er = par.floats(1, dIn);
            float[] w = par.floats(2, dIn);
            int[] lat = new int[16];
            double[] con = new double[16];
            int n = 0;
            for (int b = lo; b < hi; b++) {
                pre.get(b * nLatents, row, 0, nLatents);
                boolean errLoaded = false;
                for (int i = 0; i < nLatents; i++) {
                    double t = th[i];
                    if (Math.abs(row[i] - t) < half) {
                        if (!errLoaded) {
                            err.get(b * dIn, er, 0, dIn);
                            errLoaded = true;
                        }
                        wDec.get(i * dIn, w, 0, dIn);
                        double dot = SparseKernels.dot4(er, w, dIn);
                        if (n == lat.length) {
                            lat = java.util.Arrays.copyOf(lat, 2 * n);
                            con = java.util.Arrays.copyOf(con, 2 * n);
                        }
                        lat[n] = i;
                        con[n] = -(t / eps) * scale * dot - l0Scale / (double) eps;
                        n++;
                    }
                }
            }
            hitLatent[ch] = lat;
            hitValue[ch] = con;
            hitCount[ch] = n;
        });
        double[] acc = new double[nLatents];
        for (int ch = 0; ch < hitCount.length; ch++) {
            for (int q = 0; q < hitCount[ch]; q++) {
                acc[hitLatent[ch][q]] += hitValue[ch][q];
            }
        }
        for (int i = 0; i < nLatents; i++) {
            dLogThreshold.put(i, (float) (th[i] * acc[i]));
        }
    }
}
