package dev.saetrain.device.cpu;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemv;

import dev.saetrain.device.SparseActs;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The sparse half of the CPU step: TopK and ReLU selection into CSR rows, sparse decode, and the sparse
 * backward. Backward products are organised by latent: the active (row, latent) pairs are bucketed by
 * latent (a counting sort), so each gradient row is accumulated by one thread in one pass, without atomics.
 * Cost is O(|S| dIn) for S the active pairs, never O(batch nLatents dIn).
 */
final class SparseKernels {
    private static final int ROW_GRAIN = 4;

    private final Parallel par;
    private final Compaction compaction;

    SparseKernels(Parallel par) {
        this.par = par;
        this.compaction = new Compaction(par, ROW_GRAIN);
    }

    private static int[] ia(dev.saetrain.device.IntBuf b) {
        return CpuDevice.ia(b);
    }

    /**
     * Makes row i of a row-sparse gradient ready to accumulate into: zeroes it and sets its flag the first
     * time it is touched in a step (Device's rowActive contract). Only one thread ever owns row i.
     */
    private static final float[] ZEROS = new float[1024]; // never written

    static void claimRow(CpuFloatBuf grad, int i, int cols, int[] rowActive) {
        if (rowActive[i] == 0) {
            long o = (long) i * cols;
            for (int j = 0; j < cols; j += ZEROS.length) {
                grad.put(o + j, ZEROS, 0, Math.min(ZEROS.length, cols - j)); // bulk puts of a shared zero block
            }
            rowActive[i] = 1;
        }
    }

    /**
     * See Device.topk: per row, the k largest of pre [batch, nLatents], by {@link TopkSelect} on one bulk copy of
     * the row; when lastFired is not null, among the latents with lastFired <= deadBefore (AuxK), listed once per
     * call and read straight from pre.
     */
    void topk(CpuFloatBuf pre, int batch, int nLatents, int k, int[] lastFired, int deadBefore, SparseActs out) {
        prepareRows(out, batch, k);
        int chunks = par.chunks(batch, ROW_GRAIN);
        // Kept across steps and grown only: a family's SAEs share this device, with different n_latents and k.
        if (topkRows == null || topkRows.length < chunks || topkRows[0].length < nLatents
                || !topkSelect[0].fits(nLatents, k)) {
            int n = Math.max(nLatents, topkRows == null ? 0 : topkRows[0].length);
            int kMax = Math.max(k, topkSelect == null ? 0 : topkSelect[0].hv.length);
            topkRows = new float[Math.max(1, chunks)][n];
            topkSelect = new TopkSelect[Math.max(1, chunks)];
            for (int c = 0; c < topkSelect.length; c++) {
                topkSelect[c] = new TopkSelect(n, kMax);
            }
        }
        float[][] rows = topkRows;
        TopkSelect[] selects = topkSelect;
        int[] idx = ia(out.idx());
        CpuFloatBuf val = CpuDevice.fb(out.val());
        if (lastFired != null) {
            // AuxK: the dead latents are the same for every row: list them once, pick among them per row.
            if (deadList.length < nLatents) {
                deadList = new int[nLatents];
            }
            int[] dead = deadList;
            int nDead = 0;
            for (int i = 0; i < nLatents; i++) {
                if (lastFired[i] <= deadBefore) {
                    dead[nDead++] = i;
                }
            }
            if (nDead < k) {
                throw new IllegalArgumentException("topk: only " + nDead + " candidate latents for k = " + k
                        + "; the caller must clamp k to the number of candidates");
            }
            int candidates = nDead;
            par.forChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
                TopkSelect sel = selects[ch];
                for (int b = lo; b < hi; b++) {
                    sel.selectAmong(pre, (long) b * nLatents, dead, candidates, k);
                    sel.write(idx, val, b * k, k);
                }
            });
            return;
        }
        par.forChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
            float[] row = rows[ch];
            TopkSelect sel = selects[ch];
            for (int b = lo; b < hi; b++) {
                pre.get((long) b * nLatents, row, 0, nLatents); // one bulk copy (a memcpy) per row
                sel.select(row, nLatents, k);
                sel.write(idx, val, b * k, k);
            }
        });
    }

    private static void prepareRows(SparseActs acts, int batch, int k) {
        if ((long) batch * k > acts.capacity()) {
            throw new IllegalArgumentException("topk needs " + (long) batch * k + " entries, buffer holds "
                    + acts.capacity());
        }
        int[] rowPtr = ia(acts.rowPtr());
        for (int b = 0; b <= batch; b++) {
            rowPtr[b] = b * k;
        }
    }

    /** See Device.reluSparse: one read of pre (see Compaction). */
    long reluSparse(CpuFloatBuf pre, int batch, int nLatents, SparseActs out) {
        return compaction.compactAbove(pre, null, batch, nLatents, out);
    }

    /** See Device.recordFires. Sequential: |S| is small next to the products. */
    void recordFires(SparseActs acts, int nLatents, int[] counts, int[] lastFired, int step, CpuFloatBuf actSums) {
        int[] rowPtr = ia(acts.rowPtr());
        int[] idx = ia(acts.idx());
        CpuFloatBuf val = CpuDevice.fb(acts.val());
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
     * See Device.sparseDecode: per row, the W_dec rows of its nonzero entries are gathered (a bulk buffer put each) into
     * a block and xHat_b = bDec + Block^T f_b is one single-threaded sgemv (up to {@link #BLOCK_ENTRIES} entries per
     * call), written in place; err_b = xHat_b - target_b and its squares follow on heap copies of the row (vectorised
     * loops, the squares summed in float lanes per row and in double across rows).
     */
    double decode(SparseActs acts, CpuFloatBuf wDec, CpuFloatBuf bDec, CpuFloatBuf target, int batch, int dIn,
                  CpuFloatBuf xHat, CpuFloatBuf err) {
        int[] rowPtr = ia(acts.rowPtr());
        int[] idx = ia(acts.idx());
        CpuFloatBuf val = CpuDevice.fb(acts.val());
        float[] bias = new float[dIn];
        if (bDec != null) {
            bDec.get(0, bias, 0, dIn);
        }
        int chunks = par.chunks(batch, ROW_GRAIN);
        GatherScratch[] scratch = gatherScratch(chunks, dIn);
        FloatPointer xHatP = xHat.pointer(0);
        double[] sse = new double[1];
        CpuDevice.singleThreadedBlas(par, () -> sse[0] = par.sumChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
            GatherScratch sc = scratch[ch];
            FloatPointer out = new FloatPointer(xHatP);
            float[] xh = par.floats(0, dIn);
            float[] e = par.floats(1, dIn);
            float[] sq = par.floats(2, dIn);
            double s = 0;
            for (int b = lo; b < hi; b++) {
                long o = (long) b * dIn;
                xHat.put(o, bias, 0, dIn);
                out.position(o);
                int r = 0;
                for (int q = rowPtr[b]; q < rowPtr[b + 1]; q++) {
                    float v = val.get(q);
                    if (v == 0f) {
                        continue;
                    }
                    wDec.copyTo((long) idx[q] * dIn, sc.rowsA, r * dIn, dIn); // see backward on gathering with bulk puts
                    sc.coef.put(r, v);
                    if (++r == BLOCK_ENTRIES) {
                        cblas_sgemv(CblasRowMajor, CblasTrans, r, dIn, 1f, sc.rowsAP, dIn, sc.coefP, 1, 1f, out, 1);
                        r = 0;
                    }
                }
                if (r > 0) {
                    cblas_sgemv(CblasRowMajor, CblasTrans, r, dIn, 1f, sc.rowsAP, dIn, sc.coefP, 1, 1f, out, 1);
                }
                CpuDevice.residualRow(xHat, target, err, o, dIn, xh, e, sq);
                if ((b - lo) % CpuDevice.LANE_FLUSH == CpuDevice.LANE_FLUSH - 1 || b == hi - 1) {
                    s += CpuDevice.flushLanes(sq, dIn);
                }
            }
            return s;
        }));
        return sse[0];
    }

    /**
     * The active pairs bucketed by latent: entries of latent i are {@code order[start[i] .. start[i+1])},
     * each an entry index e into acts; rows[e] gives the row of entry e. Only entries with value > 0.
     */
    record ByLatent(int[] start, int[] order, int[] rows, int[] fillPos) {
    }

    private ByLatent byLatentScratch;
    private float[][] topkRows; // one row buffer per chunk of topk's rows, kept across steps
    private TopkSelect[] topkSelect; // and one selection scratch
    private int[] deadList = new int[0]; // AuxK's dead latents, listed once per call

    static ByLatent byLatent(SparseActs acts, int nLatents, CpuFloatBuf val) {
        return byLatent(acts, nLatents, val, null);
    }

    /** byLatent with its arrays taken from (and grown into) {@code reuse} when not null: no per-step garbage. */
    static ByLatent byLatent(SparseActs acts, int nLatents, CpuFloatBuf val, ByLatent reuse) {
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
    private static void openRow(CpuFloatBuf grad, int i, int cols, int[] rowActive, float[] acc) {
        if (rowActive[i] != 0) {
            grad.get((long) i * cols, acc, 0, cols);
        } else {
            java.util.Arrays.fill(acc, 0, cols, 0f);
            rowActive[i] = 1;
        }
    }

    /**
     * See Device.sparseDecoderBackward. Rows of err and W_dec are bulk-copied into heap arrays; each gradient row
     * is accumulated in a heap array and written once.
     */
    void decoderBackward(SparseActs acts, CpuFloatBuf err, float scale, CpuFloatBuf wDec, CpuFloatBuf l1PerLatent,
                         int batch, int dIn, int nLatents, CpuFloatBuf dWDec, int[] rowActive) {
        int[] rowPtr = ia(acts.rowPtr());
        int[] idx = ia(acts.idx());
        CpuFloatBuf val = CpuDevice.fb(acts.val());
        CpuFloatBuf grad = CpuDevice.fb(acts.grad());
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            float[] er = par.floats(0, dIn);
            float[] w = par.floats(1, dIn);
            for (int b = lo; b < hi; b++) {
                err.get((long) b * dIn, er, 0, dIn);
                for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                    if (val.get(e) <= 0) {
                        grad.put(e, 0f);
                        continue;
                    }
                    int i = idx[e];
                    wDec.get((long) i * dIn, w, 0, dIn);
                    double dot = dot4(er, w, dIn);
                    grad.put(e, (float) (scale * dot) + (l1PerLatent == null ? 0f : l1PerLatent.get(i)));
                }
            }
        });
        ByLatent bl = byLatent(acts, nLatents, val);
        par.forRange(nLatents, 64, (lo, hi) -> {
            float[] acc = par.floats(0, dIn);
            float[] er = par.floats(1, dIn);
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
                    err.get((long) bl.rows[e] * dIn, er, 0, dIn);
                    for (int j = 0; j < dIn; j++) {
                        acc[j] += c * er[j];
                    }
                }
                dWDec.put((long) i * dIn, acc, 0, dIn);
            }
        });
    }

    /** See Device.sparseEncoderBackward; the same row handling as decoderBackward. */
    void encoderBackward(SparseActs acts, CpuFloatBuf xIn, int batch, int dIn, int nLatents,
                         CpuFloatBuf dWEnc, CpuFloatBuf dBEnc, int[] rowActive) {
        CpuFloatBuf val = CpuDevice.fb(acts.val());
        CpuFloatBuf grad = CpuDevice.fb(acts.grad());
        ByLatent bl = byLatent(acts, nLatents, val);
        par.forRange(nLatents, 64, (lo, hi) -> {
            float[] acc = par.floats(0, dIn);
            float[] xr = par.floats(1, dIn);
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
                    xIn.get((long) bl.rows[e] * dIn, xr, 0, dIn);
                    for (int j = 0; j < dIn; j++) {
                        acc[j] += g * xr[j];
                    }
                }
                dWEnc.put((long) i * dIn, acc, 0, dIn);
                dBEnc.put(i, dBEnc.get(i) + (float) bsum);
            }
        });
    }

    /** Entries of one latent gathered per block of the fused backward (larger latents go in several blocks). */
    static final int BLOCK_ENTRIES = 128;

    /**
     * One chunk's scratch for the gathered-row products: two blocks of up to {@link #BLOCK_ENTRIES} rows (backward:
     * err and xIn rows; decode: W_dec rows in the first) and the block's coefficient vectors.
     */
    private static final class GatherScratch {
        final FloatBuffer rowsA;
        final FloatBuffer rowsB;
        final FloatBuffer coef; // scale * f of each entry of the block
        final FloatBuffer dpre; // the block's df, then dL/dpre
        final FloatPointer rowsAP;
        final FloatPointer rowsBP;
        final FloatPointer coefP;
        final FloatPointer dpreP;
        final int dIn;

        GatherScratch(int dIn) {
            this.dIn = dIn;
            rowsA = direct(BLOCK_ENTRIES * dIn);
            rowsB = direct(BLOCK_ENTRIES * dIn);
            coef = direct(BLOCK_ENTRIES);
            dpre = direct(BLOCK_ENTRIES);
            rowsAP = new FloatPointer(rowsA);
            rowsBP = new FloatPointer(rowsB);
            coefP = new FloatPointer(coef);
            dpreP = new FloatPointer(dpre);
        }

        private static FloatBuffer direct(int n) {
            return java.nio.ByteBuffer.allocateDirect(4 * n).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        }
    }

    private GatherScratch[] gatherScratch = new GatherScratch[0];

    private GatherScratch[] gatherScratch(int chunks, int dIn) {
        if (gatherScratch.length < chunks || gatherScratch[0].dIn != dIn) {
            GatherScratch[] s = new GatherScratch[chunks];
            for (int c = 0; c < chunks; c++) {
                s[c] = new GatherScratch(dIn);
            }
            gatherScratch = s;
        }
        return gatherScratch;
    }

    /**
     * See Device.sparseBackward: decoderBackward and encoderBackward in one walk over the active latents. For each
     * active latent i, its entries' err and xIn rows are gathered into two contiguous blocks (up to
     * {@link #BLOCK_ENTRIES} rows at a time) and the three products are single-threaded OpenBLAS sgemv calls on
     * them: df = scale Err_blk W_dec,i (+ l1), dW_dec,i += Err_blk^T (scale f), dW_enc,i += X_blk^T dpre. Each
     * W_dec row and gradient row is touched once per block, in place in the device buffers. The dot products run
     * at SIMD speed (a Java float loop does not vectorise its reduction), accumulation is in float. dWEnc null:
     * tied, the encoder term adds into dWDec (flags decActive).
     */
    void backward(SparseActs acts, CpuFloatBuf err, float scale, CpuFloatBuf wDec, CpuFloatBuf l1PerLatent,
                  CpuFloatBuf xIn, int batch, int dIn, int nLatents, CpuFloatBuf dWDec, int[] decActive,
                  CpuFloatBuf dWEnc, CpuFloatBuf dBEnc, int[] encActive) {
        CpuFloatBuf val = CpuDevice.fb(acts.val());
        CpuFloatBuf grad = CpuDevice.fb(acts.grad());
        int n = ia(acts.rowPtr())[batch];
        for (int e = 0; e < n; e++) {
            if (val.get(e) <= 0) {
                grad.put(e, 0f);
            }
        }
        ByLatent bl = byLatentScratch = byLatent(acts, nLatents, val, byLatentScratch);
        GatherScratch[] scratch = gatherScratch(par.chunks(nLatents, 64), dIn);
        FloatPointer wP = wDec.pointer(0);
        FloatPointer decP = dWDec.pointer(0);
        FloatPointer encP = dWEnc == null ? decP : dWEnc.pointer(0);
        CpuFloatBuf encGrad = dWEnc == null ? dWDec : dWEnc;
        int[] encFlags = dWEnc == null ? decActive : encActive;
        CpuDevice.singleThreadedBlas(par, () -> par.forChunks(nLatents, 64, (ch, lo, hi) -> {
            GatherScratch sc = scratch[ch];
            // Pointers are per chunk: position() is state, and chunks run concurrently.
            FloatPointer w = new FloatPointer(wP);
            FloatPointer gd = new FloatPointer(decP);
            FloatPointer ge = dWEnc == null ? gd : new FloatPointer(encP);
            for (int i = lo; i < hi; i++) {
                int s = bl.start()[i];
                int t = bl.start()[i + 1];
                if (s == t) {
                    continue;
                }
                long row = (long) i * dIn;
                w.position(row);
                gd.position(row);
                ge.position(row);
                claimRow(dWDec, i, dIn, decActive);
                claimRow(encGrad, i, dIn, encFlags);
                float l1 = l1PerLatent == null ? 0f : l1PerLatent.get(i);
                double bsum = 0;
                for (int q0 = s; q0 < t; q0 += BLOCK_ENTRIES) {
                    int rows = Math.min(BLOCK_ENTRIES, t - q0);
                    for (int r = 0; r < rows; r++) {
                        int e = bl.order()[q0 + r];
                        // Absolute bulk puts between direct buffers: a copy the JIT inlines (Unsafe.copyMemory). A
                        // JavaCPP Pointer.memcpy per row is a JNI call each: the backward was ~12 % slower with it.
                        long o = (long) bl.rows()[e] * dIn;
                        err.copyTo(o, sc.rowsA, r * dIn, dIn);
                        xIn.copyTo(o, sc.rowsB, r * dIn, dIn);
                        sc.coef.put(r, scale * val.get(e));
                    }
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, dIn, scale, sc.rowsAP, dIn, w, 1, 0f, sc.dpreP, 1);
                    for (int r = 0; r < rows; r++) {
                        int e = bl.order()[q0 + r];
                        float g = sc.dpre.get(r) + l1;
                        sc.dpre.put(r, g);
                        grad.put(e, g);
                        bsum += g;
                    }
                    cblas_sgemv(CblasRowMajor, CblasTrans, rows, dIn, 1f, sc.rowsAP, dIn, sc.coefP, 1, 1f, gd, 1);
                    cblas_sgemv(CblasRowMajor, CblasTrans, rows, dIn, 1f, sc.rowsBP, dIn, sc.dpreP, 1, 1f, ge, 1);
                }
                dBEnc.put(i, dBEnc.get(i) + (float) bsum);
            }
        }));
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
