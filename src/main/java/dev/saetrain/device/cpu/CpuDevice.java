package dev.saetrain.device.cpu;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_saxpy;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sdot;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemv;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sscal;

import dev.saetrain.device.AdamUpdate;
import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.device.SaeParams;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.SparseSwitch;
import dev.saetrain.device.StepShape;
import dev.saetrain.device.arch.BatchTopkOps;
import dev.saetrain.device.arch.GatedOps;
import dev.saetrain.device.arch.JumpReluOps;
import dev.saetrain.device.arch.MatryoshkaOps;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * The production CPU path: OpenBLAS sgemm for the dense products, on off-heap buffers it reads in place,
 * and multithreaded Java for selection, the sparse products and the optimizer. Sparse gradients are
 * organised by latent (the active pairs are bucketed by latent first) so each weight row is written by one
 * thread, once, with no atomics. Formulas are in {@link Device}.
 */
public final class CpuDevice implements Device {
    private static final int ROW_GRAIN = 8;
    private static final int ELEM_GRAIN = 1 << 14;

    private final Parallel par;
    private final SparseKernels sparse;
    private final ResampleKernels resample;
    // Kept for the device's life: their scratch (sgemm blocks, compaction chunk buffers) grows on demand and is reused.
    private final ThresholdKernels thresholds;
    private final CpuArchOps arch;

    /** A CPU device using {@code threads} threads for Java loops and for OpenBLAS. */
    public CpuDevice(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        BlasThreads.set(threads);
        this.par = new Parallel(threads);
        this.sparse = new SparseKernels(par);
        this.resample = new ResampleKernels(par);
        this.thresholds = new ThresholdKernels(par);
        this.arch = new CpuArchOps(thresholds, new MatryoshkaKernels(par), new GatedKernels(par));
    }

    @Override
    public String describe() {
        return "cpu (" + par.threads() + " threads, " + openblas_nolapack.OPENBLAS_VERSION.trim() + ")";
    }

    static CpuFloatBuf fb(FloatBuf b) {
        return (CpuFloatBuf) b;
    }

    static int[] ia(IntBuf b) {
        return ((CpuIntBuf) b).a;
    }

    @Override
    public FloatBuf allocFloat(long n) {
        return new CpuFloatBuf(n);
    }

    @Override
    public FloatBuf floatView(FloatBuf buf, long offset, long n) {
        return fb(buf).view(offset, n);
    }

    @Override
    public IntBuf allocInt(long n) {
        return new CpuIntBuf(n);
    }

    @Override
    public void upload(float[] src, int srcOff, FloatBuf dst, long dstOff, int n) {
        fb(dst).put(dstOff, src, srcOff, n);
    }

    @Override
    public void download(FloatBuf src, long srcOff, float[] dst, int dstOff, int n) {
        fb(src).get(srcOff, dst, dstOff, n);
    }

    @Override
    public void uploadInt(int[] src, int srcOff, IntBuf dst, long dstOff, int n) {
        System.arraycopy(src, srcOff, ia(dst), Math.toIntExact(dstOff), n);
    }

    @Override
    public void downloadInt(IntBuf src, long srcOff, int[] dst, int dstOff, int n) {
        System.arraycopy(ia(src), Math.toIntExact(srcOff), dst, dstOff, n);
    }

    @Override
    public void fill(FloatBuf buf, long n, float value) {
        CpuFloatBuf b = fb(buf);
        par.forLongRange(n, ELEM_GRAIN, (lo, hi) -> {
            for (long i = lo; i < hi; i++) {
                b.put(i, value);
            }
        });
    }

    @Override
    public void scaleInto(FloatBuf src, FloatBuf dst, long n, float alpha) {
        CpuFloatBuf s = fb(src);
        CpuFloatBuf d = fb(dst);
        par.forLongRange(n, ELEM_GRAIN, (lo, hi) -> {
            for (long i = lo; i < hi; i++) {
                d.put(i, alpha * s.get(i));
            }
        });
    }

    @Override
    public double dot(FloatBuf a, FloatBuf b, long n) {
        CpuFloatBuf x = fb(a);
        CpuFloatBuf y = fb(b);
        return par.sumLongRange(n, ELEM_GRAIN, (lo, hi) -> {
            double s = 0;
            for (long i = lo; i < hi; i++) {
                s += (double) x.get(i) * y.get(i);
            }
            return s;
        });
    }

    @Override
    public int countAtOrBelow(IntBuf a, int n, int threshold) {
        int[] v = ia(a);
        int c = 0;
        for (int i = 0; i < n; i++) {
            if (v[i] <= threshold) {
                c++;
            }
        }
        return c;
    }

    @Override
    public void gemmNT(FloatBuf a, FloatBuf b, FloatBuf c, int rows, int cols, int inner, float alpha, float beta) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, inner, alpha, fb(a).pointer(0), inner,
                fb(b).pointer(0), inner, beta, fb(c).pointer(0), cols);
    }

    @Override
    public void encode(FloatBuf x, FloatBuf bDec, FloatBuf wEnc, FloatBuf bEnc, boolean applyBDec, StepShape shape,
                       FloatBuf xIn, FloatBuf pre) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        CpuFloatBuf xs = fb(x);
        CpuFloatBuf xi = fb(xIn);
        CpuFloatBuf p = fb(pre);
        // The calling thread's scratch slots 2 and 3 (read by every chunk; the chunks' own rows use slot 0).
        float[] bd = par.floats(2, dIn);
        if (applyBDec) {
            fb(bDec).get(0, bd, 0, dIn);
        }
        float[] be = par.floats(3, nLatents);
        fb(bEnc).get(0, be, 0, nLatents);
        // Bulk row copies (memcpy-speed) rather than per-element puts: this pass is pure memory traffic.
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            float[] row = par.floats(0, dIn);
            for (int b = lo; b < hi; b++) {
                long o = (long) b * dIn;
                xs.get(o, row, 0, dIn);
                for (int j = 0; j < dIn; j++) {
                    row[j] -= bd[j];
                }
                xi.put(o, row, 0, dIn);
                p.put((long) b * nLatents, be, 0, nLatents);
            }
        });
        gemmSplit(false, true, batch, nLatents, dIn, 1f, xi, dIn, fb(wEnc), dIn, 1f, p, nLatents);
    }

    /**
     * c = alpha op(a) op(b) + beta c (row-major, op = transpose where asked) for c [m, n], split into row blocks of c
     * run by the Java pool, each a single-threaded OpenBLAS call: block rows [lo, hi) take rows lo.. of a (columns
     * lo.. when a is transposed, a [k, m]) and of c. OpenBLAS's own worker threads spin for a while after each call
     * (its THREAD_TIMEOUT); on a machine with as many cores as threads that spin takes a core from the Java loops
     * that follow. Running the blocks on our own pool leaves no BLAS thread behind. Each block is one fixed-shape
     * sgemm, so the result is deterministic for a fixed thread count.
     */
    private void gemmSplit(boolean transA, boolean transB, int m, int n, int k, float alpha, CpuFloatBuf a, int lda,
                           CpuFloatBuf b, int ldb, float beta, CpuFloatBuf c, int ldc) {
        int blocks = Math.max(1, Math.min(par.threads(), m / 64));
        singleThreadedBlas(par, () -> par.forChunks(m, Math.max(1, m / blocks), (ch, lo, hi) -> {
            if (hi > lo) {
                long aOff = transA ? lo : (long) lo * lda;
                cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        hi - lo, n, k, alpha, a.pointer(aOff), lda, b.pointer(0), ldb, beta,
                        c.pointer((long) lo * ldc), ldc);
            }
        }));
    }

    @Override
    public void topk(FloatBuf pre, StepShape shape, int k, IntBuf lastFired, int deadBefore, SparseActs out) {
        sparse.topk(fb(pre), shape.batch(), shape.nLatents(), k, lastFired == null ? null : ia(lastFired), deadBefore,
                out);
    }

    @Override
    public long reluSparse(FloatBuf pre, StepShape shape, SparseActs out) {
        return sparse.reluSparse(fb(pre), shape.batch(), shape.nLatents(), out);
    }

    @Override
    public long reluDense(FloatBuf pre, StepShape shape) {
        CpuFloatBuf p = fb(pre);
        return Math.round(par.sumLongRange((long) shape.batch() * shape.nLatents(), ELEM_GRAIN, (lo, hi) -> {
            long c = 0;
            for (long i = lo; i < hi; i++) {
                float v = p.get(i);
                if (v > 0) {
                    c++;
                } else {
                    p.put(i, 0f);
                }
            }
            return c;
        }));
    }

    @Override
    public void recordFires(SparseActs acts, int nLatents, IntBuf counts, IntBuf lastFired, int step, FloatBuf actSums) {
        sparse.recordFires(acts, nLatents, ia(counts), ia(lastFired), step, actSums == null ? null : fb(actSums));
    }

    @Override
    public void recordFiresDense(FloatBuf f, StepShape shape, IntBuf counts, IntBuf lastFired, int step,
                                 FloatBuf actSums) {
        denseFires(fb(f), shape.batch(), shape.nLatents(), ia(counts), ia(lastFired), step,
                actSums == null ? null : fb(actSums), false);
    }

    @Override
    public long reluDenseFires(FloatBuf pre, StepShape shape, IntBuf counts, IntBuf lastFired, int step,
                               FloatBuf actSums) {
        return denseFires(fb(pre), shape.batch(), shape.nLatents(), ia(counts), ia(lastFired), step,
                actSums == null ? null : fb(actSums), true);
    }

    /**
     * recordFiresDense over f [batch, nLatents], with {@code relu} first zeroing the entries <= 0 in place in the
     * same pass (one read of the dense matrix instead of two). Chunks of whole rows (contiguous reads), each with
     * its own counters, merged in chunk order (deterministic for a fixed thread count). Returns the entries > 0.
     */
    private long denseFires(CpuFloatBuf fv, int batch, int nLatents, int[] cnt, int[] last, int step,
                            CpuFloatBuf sums, boolean relu) {
        int chunks = par.chunks(batch, ROW_GRAIN);
        int[][] c = new int[chunks][nLatents];
        double[][] s = new double[chunks][nLatents];
        // Branch-free and vectorised: relu = max(v, 0); the firing indicator is positiveMask (0 or 1, exact) summed
        // in float lanes, flushed into the int counts and double sums every LANE_FLUSH rows.
        par.forChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
            int[] cc = c[ch];
            double[] ss = s[ch];
            float[] row = par.floats(0, nLatents);
            float[] fired = par.floats(1, nLatents);
            float[] sum = par.floats(2, nLatents);
            for (int b = lo; b < hi; b++) {
                long o = (long) b * nLatents;
                fv.get(o, row, 0, nLatents);
                for (int i = 0; i < nLatents; i++) {
                    float r = Math.max(row[i], 0f);
                    row[i] = r;
                    fired[i] += positiveMask(r);
                    sum[i] += r;
                }
                if (relu) {
                    fv.put(o, row, 0, nLatents);
                }
                if ((b - lo) % LANE_FLUSH == LANE_FLUSH - 1 || b == hi - 1) {
                    for (int i = 0; i < nLatents; i++) {
                        cc[i] += (int) fired[i];
                        fired[i] = 0f;
                    }
                    flushLanesInto(sum, ss, nLatents);
                }
            }
        });
        int latentChunks = par.chunks(nLatents, 256);
        long[] part = new long[Math.max(1, latentChunks)];
        par.forChunks(nLatents, 256, (lc, lo, hi) -> {
            long p = 0;
            for (int i = lo; i < hi; i++) {
                int n = 0;
                double t = 0;
                for (int ch = 0; ch < chunks; ch++) {
                    n += c[ch][i];
                    t += s[ch][i];
                }
                p += n;
                if (n > 0) {
                    cnt[i] += n;
                    last[i] = step;
                }
                if (sums != null) {
                    sums.put(i, (float) t);
                }
            }
            part[lc] = p;
        });
        long total = 0;
        for (long p : part) {
            total += p;
        }
        return total;
    }

    @Override
    public double sparseDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target, StepShape shape,
                               FloatBuf xHat, FloatBuf err) {
        return sparse.decode(acts, fb(wDec), bDec == null ? null : fb(bDec), fb(target), shape.batch(), shape.dIn(),
                fb(xHat), fb(err));
    }

    @Override
    public double denseDecode(FloatBuf f, FloatBuf wDec, FloatBuf bDec, FloatBuf target, StepShape shape,
                              FloatBuf xHat, FloatBuf err) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        CpuFloatBuf xh = fb(xHat);
        float[] bd = new float[dIn];
        fb(bDec).get(0, bd, 0, dIn);
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            for (int b = lo; b < hi; b++) {
                xh.put((long) b * dIn, bd, 0, dIn); // bulk copy: xHat starts at bDec
            }
        });
        gemmSplit(false, false, batch, dIn, nLatents, 1f, fb(f), nLatents, fb(wDec), dIn, 1f, xh, dIn);
        CpuFloatBuf t = fb(target);
        CpuFloatBuf e = fb(err);
        return par.sumRange(batch, ROW_GRAIN, (lo, hi) -> {
            float[] xr = par.floats(0, dIn);
            float[] tr = par.floats(1, dIn);
            float[] lanes = par.floats(2, dIn);
            double s = 0;
            for (int b = lo; b < hi; b++) {
                residualRow(xh, t, e, (long) b * dIn, dIn, xr, tr, lanes);
                if ((b - lo) % LANE_FLUSH == LANE_FLUSH - 1 || b == hi - 1) {
                    s += flushLanes(lanes, dIn);
                }
            }
            return s;
        });
    }

    /**
     * err[o..o+n) = xHat - target for one row, its squares added into {@code lanes}; xr and tr are n-float
     * scratch rows (heap copies, so the loop vectorises). Shared by the dense and sparse decodes.
     */
    static void residualRow(CpuFloatBuf xHat, CpuFloatBuf target, CpuFloatBuf err, long o, int n, float[] xr,
                            float[] tr, float[] lanes) {
        xHat.get(o, xr, 0, n);
        target.get(o, tr, 0, n);
        for (int j = 0; j < n; j++) {
            float d = xr[j] - tr[j];
            tr[j] = d;
            lanes[j] += d * d;
        }
        err.put(o, tr, 0, n);
    }

    @Override
    public double centeredSumSquares(FloatBuf x, int batch, int dIn) {
        CpuFloatBuf xs = fb(x);
        double[] sums = columnSums(xs, batch, dIn);
        float[] mean = new float[dIn];
        for (int j = 0; j < dIn; j++) {
            mean[j] = (float) (sums[j] / batch);
        }
        return par.sumRange(batch, ROW_GRAIN, (lo, hi) -> {
            float[] row = par.floats(0, dIn);
            float[] acc = par.floats(1, dIn);
            double s = 0;
            for (int b = lo; b < hi; b++) {
                xs.get((long) b * dIn, row, 0, dIn);
                for (int j = 0; j < dIn; j++) {
                    float d = row[j] - mean[j];
                    acc[j] += d * d;
                }
                if ((b - lo) % LANE_FLUSH == LANE_FLUSH - 1 || b == hi - 1) {
                    s += flushLanes(acc, dIn);
                }
            }
            return s;
        });
    }

    /**
     * 1 where v > 0, 0 where v <= 0 (v not NaN), without a branch: v * 2^149 is >= 1 for every positive float
     * (the smallest is 2^-149), then clamped to [0, 1]. Loops over it vectorise; a ternary there mispredicts on
     * half of a ReLU's entries.
     */
    static float positiveMask(float v) {
        return Math.min(Math.max(v * 0x1p127f * 0x1p22f, 0f), 1f);
    }

    /** Rows summed into float lanes before they are flushed into a double (keeps the lane sums short). */
    static final int LANE_FLUSH = 64;

    /** sum of acc[0..n) in double, then acc zeroed. */
    static double flushLanes(float[] acc, int n) {
        double s = 0;
        for (int j = 0; j < n; j++) {
            s += acc[j];
            acc[j] = 0f;
        }
        return s;
    }

    /** part[j] += acc[j] for j in [0, n), then acc zeroed (per-column float lanes into their double partials). */
    static void flushLanesInto(float[] acc, double[] part, int n) {
        for (int j = 0; j < n; j++) {
            part[j] += acc[j];
            acc[j] = 0f;
        }
    }

    /**
     * Column sums of x [rows, cols] in double, row by row: each chunk of rows adds whole rows into float lanes (a
     * loop the JIT vectorises; no strided column walks), flushed into its double partial every {@link #LANE_FLUSH}
     * rows; partials are added in chunk order (deterministic for a fixed thread count).
     */
    private double[] columnSums(CpuFloatBuf x, int rows, int cols) {
        int chunks = Math.max(1, par.chunks(rows, ROW_GRAIN));
        double[][] part = new double[chunks][cols];
        par.forChunks(rows, ROW_GRAIN, (ch, lo, hi) -> {
            float[] row = par.floats(0, cols);
            float[] acc = par.floats(1, cols);
            double[] p = part[ch];
            for (int b = lo; b < hi; b++) {
                x.get((long) b * cols, row, 0, cols);
                for (int j = 0; j < cols; j++) {
                    acc[j] += row[j];
                }
                if ((b - lo) % LANE_FLUSH == LANE_FLUSH - 1 || b == hi - 1) {
                    flushLanesInto(acc, p, cols);
                }
            }
        });
        double[] sums = new double[cols];
        for (double[] p : part) {
            for (int j = 0; j < cols; j++) {
                sums[j] += p[j];
            }
        }
        return sums;
    }

    @Override
    public void addColumnSums(FloatBuf x, int batch, int dIn, float scale, FloatBuf out) {
        double[] sums = columnSums(fb(x), batch, dIn);
        CpuFloatBuf o = fb(out);
        for (int j = 0; j < dIn; j++) {
            o.put(j, o.get(j) + (float) (scale * sums[j]));
        }
    }

    @Override
    public void sparseDecoderBackward(SparseActs acts, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent,
                                      StepShape shape, FloatBuf dWDec, IntBuf rowActive) {
        sparse.decoderBackward(acts, fb(err), scale, fb(wDec), l1PerLatent == null ? null : fb(l1PerLatent),
                shape.batch(), shape.dIn(), shape.nLatents(), fb(dWDec), ia(rowActive));
    }

    @Override
    public void sparseEncoderBackward(SparseActs acts, FloatBuf xIn, StepShape shape, FloatBuf dWEnc, FloatBuf dBEnc,
                                      IntBuf rowActive) {
        sparse.encoderBackward(acts, fb(xIn), shape.batch(), shape.dIn(), shape.nLatents(), fb(dWEnc), fb(dBEnc),
                ia(rowActive));
    }

    @Override
    public void sparseBackward(SparseActs acts, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent,
                               FloatBuf xIn, StepShape shape, SaeGrads grads) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        FloatBuf dWDec = grads.dWDec();
        IntBuf decActive = grads.decActive();
        FloatBuf dWEnc = grads.dWEnc();
        FloatBuf dBEnc = grads.dBEnc();
        IntBuf encActive = grads.encActive();
        if ((dWEnc == dWDec) != (encActive == decActive)) {
            throw new IllegalArgumentException("sparseBackward: a shared (tied) gradient needs shared flags");
        }
        sparse.backward(acts, fb(err), scale, fb(wDec), l1PerLatent == null ? null : fb(l1PerLatent), fb(xIn), batch,
                dIn, nLatents, fb(dWDec), ia(decActive), dWEnc == dWDec ? null : fb(dWEnc), fb(dBEnc), ia(encActive));
    }

    @Override
    public void denseBackward(FloatBuf f, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent, FloatBuf xIn,
                              StepShape shape, FloatBuf dpreScratch, SaeGrads grads, boolean accumulate) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        FloatBuf dWDec = grads.dWDec();
        IntBuf decActive = grads.decActive();
        FloatBuf dWEnc = grads.dWEnc();
        IntBuf encActive = grads.encActive();
        FloatBuf dBEnc = grads.dBEnc();
        CpuFloatBuf fv = fb(f);
        CpuFloatBuf dp = fb(dpreScratch);
        gemmSplit(false, true, batch, nLatents, dIn, scale, fb(err), dIn, fb(wDec), dIn, 0f, dp, nLatents);
        float[] l1 = new float[nLatents];
        if (l1PerLatent != null) {
            fb(l1PerLatent).get(0, l1, 0, nLatents);
        }
        // One pass: the ReLU mask (a branch-free multiply, see positiveMask), the L1 term and dBEnc's column sums
        // (float lanes per row chunk, flushed into double partials, merged in chunk order as columnSums does).
        int chunks = par.chunks(batch, ROW_GRAIN);
        double[][] part = new double[Math.max(1, chunks)][nLatents];
        par.forChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
            double[] ps = part[ch];
            float[] fr = par.floats(0, nLatents);
            float[] dr = par.floats(1, nLatents);
            float[] lanes = par.floats(2, nLatents);
            for (int b = lo; b < hi; b++) {
                long o = (long) b * nLatents;
                fv.get(o, fr, 0, nLatents);
                dp.get(o, dr, 0, nLatents);
                for (int i = 0; i < nLatents; i++) {
                    float v = (dr[i] + l1[i]) * positiveMask(fr[i]);
                    dr[i] = v;
                    lanes[i] += v;
                }
                dp.put(o, dr, 0, nLatents);
                if ((b - lo) % LANE_FLUSH == LANE_FLUSH - 1 || b == hi - 1) {
                    flushLanesInto(lanes, ps, nLatents);
                }
            }
        });
        mergeColumnSums(part, nLatents, fb(dBEnc), accumulate);
        assert !accumulate || allSet(ia(decActive), nLatents) && allSet(ia(encActive), nLatents)
                : "denseBackward accumulates into gradients whose flags are all set";
        float beta = accumulate ? 1f : 0f;
        gemmSplit(true, false, nLatents, dIn, batch, scale, fv, nLatents, fb(err), dIn, beta, fb(dWDec), dIn);
        gemmSplit(true, false, nLatents, dIn, batch, 1f, dp, nLatents, fb(xIn), dIn, beta, fb(dWEnc), dIn);
        java.util.Arrays.fill(ia(decActive), 0, nLatents, 1);
        java.util.Arrays.fill(ia(encActive), 0, nLatents, 1);
    }

    private static boolean allSet(int[] flags, int n) {
        for (int i = 0; i < n; i++) {
            if (flags[i] == 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * out[i] = sum over chunks of part[chunk][i] (or out[i] + that sum when {@code add}), in chunk order
     * (deterministic for a fixed thread count).
     */
    private void mergeColumnSums(double[][] part, int cols, CpuFloatBuf out, boolean add) {
        par.forRange(cols, 256, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                double t = add ? out.get(i) : 0;
                for (double[] p : part) {
                    t += p[i];
                }
                out.put(i, (float) t);
            }
        });
    }

    @Override
    public void addVecMat(FloatBuf v, FloatBuf w, int rows, int cols, float alpha, FloatBuf out) {
        // Single-threaded (a few MFLOP): a threaded call would leave OpenBLAS workers spinning, see gemmSplit.
        singleThreadedBlas(par, () -> cblas_sgemv(CblasRowMajor, CblasTrans, rows, cols, alpha, fb(w).pointer(0), cols,
                fb(v).pointer(0), 1, 1f, fb(out).pointer(0), 1));
    }

    @Override
    public void addScaledRows(FloatBuf w, FloatBuf coef, int rows, int cols, FloatBuf dW, IntBuf rowActive) {
        CpuFloatBuf ws = fb(w);
        CpuFloatBuf c = fb(coef);
        CpuFloatBuf g = fb(dW);
        int[] flags = ia(rowActive);
        singleThreadedBlas(par, () -> par.forRange(rows, 64, (lo, hi) -> {
            FloatPointer wp = ws.pointer(0); // per chunk: position() is state
            FloatPointer gp = g.pointer(0);
            for (int i = lo; i < hi; i++) {
                float ci = c.get(i);
                if (ci == 0f) {
                    continue;
                }
                long o = (long) i * cols;
                SparseKernels.claimRow(g, i, cols, flags);
                cblas_saxpy(cols, ci, wp.position(o), 1, gp.position(o), 1);
            }
        }));
    }

    @Override
    public void l1DecoderCoefficients(FloatBuf actSums, FloatBuf norms, float lambdaOverB, int nLatents,
                                      FloatBuf out) {
        CpuFloatBuf sums = fb(actSums);
        CpuFloatBuf n = fb(norms);
        CpuFloatBuf o = fb(out);
        par.forRange(nLatents, ELEM_GRAIN, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                float ni = n.get(i);
                o.put(i, ni > 0 ? lambdaOverB * sums.get(i) / ni : 0f);
            }
        });
    }

    @Override
    public void rowNorms(FloatBuf w, int rows, int cols, FloatBuf norms) {
        CpuFloatBuf ws = fb(w);
        CpuFloatBuf n = fb(norms);
        par.forRange(rows, 64, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                double s = 0;
                long o = (long) i * cols;
                for (int j = 0; j < cols; j++) {
                    float v = ws.get(o + j);
                    s += v * v;
                }
                n.put(i, (float) Math.sqrt(s));
            }
        });
    }

    @Override
    public void projectOutParallel(FloatBuf w, FloatBuf g, int rows, int cols, IntBuf rowActive) {
        CpuFloatBuf ws = fb(w);
        CpuFloatBuf gs = fb(g);
        int[] flags = ia(rowActive);
        singleThreadedBlas(par, () -> par.forRange(rows, 64, (lo, hi) -> {
            FloatPointer wp = ws.pointer(0); // per chunk: position() is state
            FloatPointer gp = gs.pointer(0);
            for (int i = lo; i < hi; i++) {
                if (flags[i] == 0) {
                    continue;
                }
                long o = (long) i * cols;
                float dot = cblas_sdot(cols, gp.position(o), 1, wp.position(o), 1);
                cblas_saxpy(cols, -dot, wp, 1, gp, 1);
            }
        }));
    }

    @Override
    public void normalizeRows(FloatBuf w, int rows, int cols) {
        CpuFloatBuf ws = fb(w);
        singleThreadedBlas(par, () -> par.forRange(rows, 64, (lo, hi) -> {
            FloatPointer wp = ws.pointer(0);
            for (int i = lo; i < hi; i++) {
                wp.position((long) i * cols);
                double s = cblas_sdot(cols, wp, 1, wp, 1);
                if (s > 0) {
                    cblas_sscal(cols, (float) (1.0 / Math.sqrt(s)), wp, 1);
                }
            }
        }));
    }

    @Override
    public double sumSquares(FloatBuf g, int rows, int cols, IntBuf rowActive) {
        CpuFloatBuf gs = fb(g);
        int[] flags = rowActive == null ? null : ia(rowActive);
        return par.sumRange(rows, Math.max(1, ELEM_GRAIN / Math.max(1, cols)), (lo, hi) -> {
            float[] row = par.floats(0, cols);
            float[] acc = par.floats(1, cols);
            double s = 0;
            int pending = 0;
            for (int i = lo; i < hi; i++) {
                if (flags != null && flags[i] == 0) {
                    continue;
                }
                gs.get((long) i * cols, row, 0, cols);
                for (int j = 0; j < cols; j++) {
                    acc[j] += row[j] * row[j];
                }
                if (++pending == LANE_FLUSH) {
                    s += flushLanes(acc, cols);
                    pending = 0;
                }
            }
            return s + flushLanes(acc, cols);
        });
    }

    /**
     * Runs {@code body} with OpenBLAS single-threaded, then restores {@code par}'s thread count: for loops whose chunks
     * each call BLAS (the Java pool is the parallelism; a threaded call from each chunk would oversubscribe the cores
     * and leave OpenBLAS workers spinning, see gemmSplit).
     */
    static void singleThreadedBlas(Parallel par, Runnable body) {
        BlasThreads.set(1);
        try {
            body.run();
        } finally {
            BlasThreads.set(par.threads());
        }
    }

    @Override
    public void clearFlags(IntBuf rowActive, int rows) {
        java.util.Arrays.fill(ia(rowActive), 0, rows, 0);
    }

    @Override
    public void adamStep(FloatBuf param, FloatBuf grad, FloatBuf m, FloatBuf v, int rows, int cols, IntBuf rowActive,
                         AdamUpdate u) {
        CpuFloatBuf p = fb(param);
        CpuFloatBuf g = fb(grad);
        CpuFloatBuf ms = fb(m);
        CpuFloatBuf vs = fb(v);
        int[] flags = rowActive == null ? null : ia(rowActive);
        float beta1 = u.beta1();
        float beta2 = u.beta2();
        float eps = u.eps();
        float gradScale = u.gradScale();
        float stepSize = u.stepSize();
        float invSqrtBc2 = u.invSqrtBc2();
        float a1 = 1 - beta1;
        float a2 = 1 - beta2;
        // Row by row through heap arrays (bulk copies in and out) so the elementwise loop vectorises; the
        // arithmetic is the same, element by element.
        par.forRange(rows, Math.max(1, ELEM_GRAIN / Math.max(1, cols)), (lo, hi) -> {
            float[] pa = par.floats(0, cols);
            float[] ga = par.floats(1, cols);
            float[] ma = par.floats(2, cols);
            float[] va = par.floats(3, cols);
            for (int i = lo; i < hi; i++) {
                boolean active = flags == null || flags[i] != 0;
                long o = (long) i * cols;
                p.get(o, pa, 0, cols);
                ms.get(o, ma, 0, cols);
                vs.get(o, va, 0, cols);
                if (active) {
                    g.get(o, ga, 0, cols);
                    for (int j = 0; j < cols; j++) {
                        ga[j] = gradScale * ga[j];
                    }
                } else {
                    java.util.Arrays.fill(ga, 0, cols, 0f);
                }
                for (int j = 0; j < cols; j++) {
                    float gj = ga[j];
                    float mj = beta1 * ma[j] + a1 * gj;
                    float vj = beta2 * va[j] + a2 * gj * gj;
                    ma[j] = mj;
                    va[j] = vj;
                    pa[j] = pa[j] - stepSize * mj / ((float) Math.sqrt(vj) * invSqrtBc2 + eps);
                }
                ms.put(o, ma, 0, cols);
                vs.put(o, va, 0, cols);
                p.put(o, pa, 0, cols);
            }
        });
    }

    @Override
    public void synchronize() {
        // CPU ops complete before they return.
    }

    @Override
    public void close() {
        par.close();
    }

    // relu-2023 (dead-latent resampling) and tied weights

    @Override
    public void resampleRows(FloatBuf x, SaeParams params, IntBuf latents, IntBuf rows, int count, int dIn,
                             float encNorm) {
        resample.resampleRows(fb(x), fb(params.bDec()), ia(latents), ia(rows), count, dIn, encNorm, fb(params.wDec()),
                fb(params.wEnc()), fb(params.bEnc()));
    }

    @Override
    public void zeroRows(FloatBuf buf, IntBuf rows, int count, int cols) {
        resample.zeroRows(fb(buf), ia(rows), count, cols);
    }

    @Override
    public void expInto(FloatBuf src, FloatBuf dst, long n) {
        thresholds.expInto(fb(src), fb(dst), Math.toIntExact(n));
    }

    // the architectures' kernels: CpuArchOps, over ThresholdKernels, MatryoshkaKernels and GatedKernels

    @Override
    public JumpReluOps jumpReluOps() {
        return arch;
    }

    @Override
    public GatedOps gatedOps() {
        return arch;
    }

    @Override
    public MatryoshkaOps matryoshkaOps() {
        return arch;
    }

    @Override
    public BatchTopkOps batchTopkOps() {
        return arch;
    }

    /** Where the paths cross on the CPU (measured: {@link SparseSwitch#MEASURED_ON_CPU}). */
    @Override
    public SparseSwitch sparseSwitch() {
        return SparseSwitch.MEASURED_ON_CPU;
    }
}
