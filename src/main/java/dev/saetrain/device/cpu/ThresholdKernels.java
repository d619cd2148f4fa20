package dev.saetrain.device.cpu;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import dev.saetrain.device.SparseActs;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * CPU kernels of the threshold architectures: BatchTopK selection (Bussmann, Leask and Nanda 2024) and the JumpReLU
 * activation with its straight-through threshold gradient (Rajamanoharan et al. 2024). Formulas are in {@link
 * dev.saetrain.device.arch.BatchTopkOps} and {@link dev.saetrain.device.arch.JumpReluOps}. Every reduction adds in row
 * order, so results do not depend on the thread count.
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
     * See BatchTopkOps.batchTopk. The r-th largest positive value is found without sorting by a two-pass radix
     * select on its bit pattern (for floats > 0 the int bits order like the values): a histogram of the high
     * 16 bits finds the bucket holding rank r, a histogram of the low 16 bits inside that bucket finds the
     * exact value T. Then each row counts its entries > T and == T, ties are handed out in row order, and
     * rows are compacted in parallel. Four passes over pre, O(batch * nLatents), no allocation of that size.
     */
    long batchTopk(CpuFloatBuf pre, int batch, int nLatents, long kTotal, SparseActs out, CpuFloatBuf minKept) {
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
                long base = (long) b * nLatents;
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
        int[] rowPtr = CpuDevice.ia(out.rowPtr());
        long r = Math.min(kTotal, java.util.Arrays.stream(hist).sum());
        if (r == 0) {
            return keepNone(rowPtr, batch, minKept);
        }
        Cut highCut = Cut.of(hist, 0, r);
        int hb = highCut.bucket();
        long[][] low = new long[Math.max(1, chunks)][];
        par.forChunks(batch, grain, (ch, lo, hi) -> {
            long[] h = new long[LOW_BUCKETS];
            for (int b = lo; b < hi; b++) {
                long base = (long) b * nLatents;
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
        Cut lowCut = Cut.of(merge(low, LOW_BUCKETS), highCut.above(), r);
        int t = (hb << 16) | lowCut.bucket();
        long need = r - lowCut.above(); // entries equal to T that are kept, 1 <= need <= count of T
        int[] gt = new int[batch];
        int[] eq = new int[batch];
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            for (int b = lo; b < hi; b++) {
                long base = (long) b * nLatents;
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
        CpuFloatBuf val = CpuDevice.fb(out.val());
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            for (int b = lo; b < hi; b++) {
                long base = (long) b * nLatents;
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

    /**
     * See BatchTopkOps.batchTopkMerge. The candidates are few (at most kTotal a block), so one thread does it: the
     * r-th largest positive value by the same two-level radix select on the bits as {@link #batchTopk}, then each row
     * of the batch keeps its entries > T and its share of the ties at T, handed out in position order.
     */
    long batchTopkMerge(SparseActs[] blocks, long kTotal, SparseActs out, CpuFloatBuf minKept) {
        if (kTotal > out.capacity()) {
            throw new IllegalArgumentException("batchTopkMerge keeps up to " + kTotal + " entries, buffer holds "
                    + out.capacity());
        }
        int rows = 0;
        for (SparseActs c : blocks) {
            rows += c.batch();
        }
        if (rows != out.batch()) {
            throw new IllegalArgumentException("batchTopkMerge: the blocks hold " + rows + " rows, out " + out.batch());
        }
        long[] hist = new long[HIGH_BUCKETS];
        for (SparseActs c : blocks) {
            CpuFloatBuf val = CpuDevice.fb(c.val());
            int n = CpuDevice.ia(c.rowPtr())[c.batch()];
            for (int e = 0; e < n; e++) {
                float v = val.get(e);
                if (v > 0) {
                    hist[Float.floatToRawIntBits(v) >>> 16]++;
                }
            }
        }
        int[] rowPtr = CpuDevice.ia(out.rowPtr());
        long r = Math.min(kTotal, java.util.Arrays.stream(hist).sum());
        if (r == 0) {
            return keepNone(rowPtr, rows, minKept);
        }
        Cut highCut = Cut.of(hist, 0, r);
        int hb = highCut.bucket();
        long[] lowHist = new long[LOW_BUCKETS];
        for (SparseActs c : blocks) {
            CpuFloatBuf val = CpuDevice.fb(c.val());
            int n = CpuDevice.ia(c.rowPtr())[c.batch()];
            for (int e = 0; e < n; e++) {
                float v = val.get(e);
                int key = Float.floatToRawIntBits(v);
                if (v > 0 && key >>> 16 == hb) {
                    lowHist[key & 0xffff]++;
                }
            }
        }
        Cut lowCut = Cut.of(lowHist, highCut.above(), r);
        int t = (hb << 16) | lowCut.bucket();
        long need = r - lowCut.above(); // entries equal to T that are kept, in position order
        int[] idx = CpuDevice.ia(out.idx());
        CpuFloatBuf outVal = CpuDevice.fb(out.val());
        int kept = 0;
        int row = 0;
        rowPtr[0] = 0;
        for (SparseActs c : blocks) {
            int[] ptr = CpuDevice.ia(c.rowPtr());
            int[] cIdx = CpuDevice.ia(c.idx());
            CpuFloatBuf val = CpuDevice.fb(c.val());
            for (int b = 0; b < c.batch(); b++, row++) {
                for (int e = ptr[b]; e < ptr[b + 1]; e++) {
                    float v = val.get(e);
                    int key = Float.floatToRawIntBits(v);
                    if (v > 0 && (key > t || (key == t && need-- > 0))) {
                        idx[kept] = cIdx[e];
                        outVal.put(kept, v);
                        kept++;
                    }
                }
                rowPtr[row + 1] = kept;
            }
        }
        minKept.put(0, Float.intBitsToFloat(t));
        return r;
    }

    /** No positive value: every row empty, minKept 0; returns the count kept, 0. */
    private static long keepNone(int[] rowPtr, int rows, CpuFloatBuf minKept) {
        java.util.Arrays.fill(rowPtr, 0, rows + 1, 0);
        minKept.put(0, 0f);
        return 0;
    }

    /**
     * Where the r-th largest value falls in a histogram of its bit patterns, walked from the top bucket down: its
     * bucket, and the count of values above that bucket ({@code above} at the start: those counted before, above
     * the histogram's range).
     */
    private record Cut(int bucket, long above) {
        static Cut of(long[] hist, long above, long r) {
            int b = hist.length - 1;
            while (above + hist[b] < r) {
                above += hist[b];
                b--;
            }
            return new Cut(b, above);
        }
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
    void expInto(CpuFloatBuf src, CpuFloatBuf dst, int n) {
        par.forRange(n, 1 << 12, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                dst.put(i, (float) Math.exp(src.get(i)));
            }
        });
    }

    /** See JumpReluOps.jumpReluSparse: one read of pre (see Compaction). */
    long jumpReluSparse(CpuFloatBuf pre, CpuFloatBuf threshold, int batch, int nLatents, SparseActs out) {
        return compaction.compactAbove(pre, threshold, batch, nLatents, out);
    }

    /** See JumpReluOps.jumpReluDense. */
    long jumpReluDense(CpuFloatBuf pre, CpuFloatBuf threshold, int batch, int nLatents, CpuFloatBuf f) {
        float[] th = new float[nLatents];
        threshold.get(0, th, 0, nLatents);
        // Rows through heap copies, masked without a branch (CpuDevice.positiveMask of pre - theta: v > theta iff
        // v - theta > 0 under gradual underflow; "+ 0f" turns the -0 of a masked negative into 0): the ternaries
        // this replaced mispredicted on the ~40 % of entries that fire at init (~115 ms a batch at d = 512 x16,
        // batch 4096). A NaN in pre gives NaN in f (where the ternary gave 0), so it reaches the loss and the
        // trainer's non-finite check instead of vanishing; the relu dense path's mask does the same.
        return Math.round(par.sumRange(batch, ROW_GRAIN, (lo, hi) -> {
            float[] row = par.floats(0, nLatents);
            long c = 0;
            for (int b = lo; b < hi; b++) {
                long base = (long) b * nLatents;
                pre.get(base, row, 0, nLatents);
                int on = 0;
                for (int i = 0; i < nLatents; i++) {
                    float mask = CpuDevice.positiveMask(row[i] - th[i]);
                    row[i] = row[i] * mask + 0f;
                    on += (int) mask;
                }
                c += on;
                f.put(base, row, 0, nLatents);
            }
            return c;
        }));
    }

    /**
     * Window fraction of a block of rows above which its err . W_dec,i come from one sgemm of the block's err rows by
     * W_dec^T (dense: ~185 ms a batch at d = 512 x16, batch 4096 on 2 cores) instead of a dot product per window
     * entry (~100 ns an entry on 2 cores): the two cost the same near 5 %. At the bench's init (pre ~ N(0, 0.1^2),
     * theta = eps = 0.001 sqrt(512)) 8.8 % of the entries are in the window.
     */
    static final double WINDOW_GEMM_FRACTION = 0.05;
    /**
     * Floats of the chunks' [rows, nLatents] blocks of err . W_dec^T together at most (16 MiB off-heap: 64 rows a
     * chunk at 8192 latents and 8 chunks, fewer rows with more chunks or latents).
     */
    private static final int GEMM_FLOATS = 1 << 22;

    private FloatBuffer[] gemmBlocks = new FloatBuffer[0]; // one per chunk, allocated when it first takes the sgemm

    /** Chunk ch's block of at least {@code floats} floats (kept across calls). */
    private FloatBuffer gemmBlock(int ch, int floats) {
        FloatBuffer g = gemmBlocks[ch];
        if (g == null || g.capacity() < floats) {
            g = java.nio.ByteBuffer.allocateDirect(4 * floats).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
            gemmBlocks[ch] = g;
        }
        return g;
    }

    /**
     * See JumpReluOps.jumpReluThresholdBackward. Only entries within eps/2 of their threshold contribute; chunks of
     * rows collect (latent, contribution) pairs, which are then added per latent in row order. Each chunk walks its
     * rows in blocks: the pre rows are scanned as heap copies and the window entries listed; where they are more than
     * {@link #WINDOW_GEMM_FRACTION} of the block, the block's err . W_dec^T is one single-threaded sgemm, otherwise
     * each entry's err . W_dec,i is a dot product of heap copies of the two rows (reading the direct buffers one
     * element at a time cost 1.2 us an entry).
     */
    void jumpReluThresholdBackward(CpuFloatBuf pre, CpuFloatBuf threshold, CpuFloatBuf err, float scale,
                                   CpuFloatBuf wDec, float eps, float l0Scale, int batch, int dIn, int nLatents,
                                   CpuFloatBuf dLogThreshold) {
        double half = eps / 2.0;
        float[] th = new float[nLatents];
        threshold.get(0, th, 0, nLatents);
        int chunks = par.chunks(batch, ROW_GRAIN);
        int blockRows = (int) Math.max(1, Math.min(64, GEMM_FLOATS / ((long) Math.max(1, chunks) * nLatents)));
        if (gemmBlocks.length != Math.max(1, chunks)) {
            gemmBlocks = new FloatBuffer[Math.max(1, chunks)];
        }
        int[][] hitLatent = new int[Math.max(1, chunks)][];
        double[][] hitValue = new double[Math.max(1, chunks)][];
        int[] hitCount = new int[Math.max(1, chunks)];
        CpuDevice.singleThreadedBlas(par, () -> par.forChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
            float[] row = par.floats(0, nLatents);
            float[] er = par.floats(1, dIn);
            float[] w = par.floats(2, dIn);
            FloatBuffer dots = null;
            int[] lat = new int[16];
            double[] con = new double[16];
            int[] hitRow = new int[16];
            int n = 0;
            for (int b0 = lo; b0 < hi; b0 += blockRows) {
                int b1 = Math.min(hi, b0 + blockRows);
                int first = n;
                for (int b = b0; b < b1; b++) {
                    pre.get((long) b * nLatents, row, 0, nLatents);
                    for (int i = 0; i < nLatents; i++) {
                        if (Math.abs(row[i] - (double) th[i]) < half) {
                            if (n == lat.length) {
                                lat = java.util.Arrays.copyOf(lat, 2 * n);
                                con = java.util.Arrays.copyOf(con, 2 * n);
                                hitRow = java.util.Arrays.copyOf(hitRow, 2 * n);
                            }
                            lat[n] = i;
                            hitRow[n] = b;
                            n++;
                        }
                    }
                }
                boolean gemm = n - first > WINDOW_GEMM_FRACTION * (b1 - b0) * (double) nLatents;
                if (gemm) {
                    dots = gemmBlock(ch, blockRows * nLatents);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b1 - b0, nLatents, dIn, 1f,
                            err.pointer((long) b0 * dIn), dIn, wDec.pointer(0), dIn, 0f, new FloatPointer(dots), nLatents);
                }
                int loaded = -1;
                for (int q = first; q < n; q++) {
                    int b = hitRow[q];
                    int i = lat[q];
                    double dot;
                    if (gemm) {
                        dot = dots.get((b - b0) * nLatents + i);
                    } else {
                        if (b != loaded) {
                            err.get((long) b * dIn, er, 0, dIn);
                            loaded = b;
                        }
                        wDec.get((long) i * dIn, w, 0, dIn);
                        dot = SparseKernels.dot4(er, w, dIn);
                    }
                    con[q] = -((double) th[i] / eps) * scale * dot - l0Scale / (double) eps;
                }
            }
            hitLatent[ch] = lat;
            hitValue[ch] = con;
            hitCount[ch] = n;
        }));
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
