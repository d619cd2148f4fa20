package dev.saetrain.device;

import dev.saetrain.device.arch.BatchTopkOps;
import dev.saetrain.device.arch.GatedOps;
import dev.saetrain.device.arch.JumpReluOps;
import dev.saetrain.device.arch.MatryoshkaOps;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The plainest implementation of {@link Device} and of the architectures' kernel interfaces (it hands out itself for
 * each): heap arrays, one loop per formula, sums in double, never optimised. Every fast device is checked against it.
 * When an op's contract is violated (fewer candidates than k, an entry outside the buffers) it throws, where a fast
 * device may assume.
 */
public final class ReferenceOps implements Device, JumpReluOps, GatedOps, MatryoshkaOps, BatchTopkOps {

    /** A heap fp32 buffer. */
    static final class RefFloatBuf implements FloatBuf {
        final float[] a;

        RefFloatBuf(long n) {
            a = new float[Math.toIntExact(n)];
        }

        @Override
        public long size() {
            return a.length;
        }

        @Override
        public void close() {
            // heap memory
        }
    }

    /** A heap int32 buffer. */
    static final class RefIntBuf implements IntBuf {
        final int[] a;

        RefIntBuf(long n) {
            a = new int[Math.toIntExact(n)];
        }

        @Override
        public long size() {
            return a.length;
        }

        @Override
        public void close() {
            // heap memory
        }
    }

    private static float[] f(FloatBuf b) {
        return ((RefFloatBuf) b).a;
    }

    private static int[] n(IntBuf b) {
        return ((RefIntBuf) b).a;
    }

    @Override
    public String describe() {
        return "reference (plain loops, double sums)";
    }

    @Override
    public FloatBuf allocFloat(long count) {
        return new RefFloatBuf(count);
    }

    @Override
    public IntBuf allocInt(long count) {
        return new RefIntBuf(count);
    }

    @Override
    public void upload(float[] src, int srcOff, FloatBuf dst, long dstOff, int count) {
        System.arraycopy(src, srcOff, f(dst), Math.toIntExact(dstOff), count);
    }

    @Override
    public void download(FloatBuf src, long srcOff, float[] dst, int dstOff, int count) {
        System.arraycopy(f(src), Math.toIntExact(srcOff), dst, dstOff, count);
    }

    @Override
    public void uploadInt(int[] src, int srcOff, IntBuf dst, long dstOff, int count) {
        System.arraycopy(src, srcOff, n(dst), Math.toIntExact(dstOff), count);
    }

    @Override
    public void downloadInt(IntBuf src, long srcOff, int[] dst, int dstOff, int count) {
        System.arraycopy(n(src), Math.toIntExact(srcOff), dst, dstOff, count);
    }

    @Override
    public void fill(FloatBuf buf, long count, float value) {
        float[] a = f(buf);
        for (int i = 0; i < count; i++) {
            a[i] = value;
        }
    }

    @Override
    public void scaleInto(FloatBuf src, FloatBuf dst, long count, float alpha) {
        float[] s = f(src);
        float[] d = f(dst);
        for (int i = 0; i < count; i++) {
            d[i] = (float) ((double) alpha * s[i]);
        }
    }

    @Override
    public double dot(FloatBuf a, FloatBuf b, long count) {
        float[] x = f(a);
        float[] y = f(b);
        double s = 0;
        for (int i = 0; i < count; i++) {
            s += (double) x[i] * y[i];
        }
        return s;
    }

    @Override
    public int countAtOrBelow(IntBuf a, int count, int threshold) {
        int[] v = n(a);
        int c = 0;
        for (int i = 0; i < count; i++) {
            if (v[i] <= threshold) {
                c++;
            }
        }
        return c;
    }

    @Override
    public void gemmNT(FloatBuf a, FloatBuf b, FloatBuf c, int rows, int cols, int inner, float alpha, float beta) {
        float[] av = f(a);
        float[] bv = f(b);
        float[] cv = f(c);
        for (int r = 0; r < rows; r++) {
            for (int q = 0; q < cols; q++) {
                double s = 0;
                for (int j = 0; j < inner; j++) {
                    s += (double) av[r * inner + j] * bv[q * inner + j];
                }
                cv[r * cols + q] = (float) (alpha * s + (double) beta * cv[r * cols + q]);
            }
        }
    }

    @Override
    public void encode(FloatBuf x, FloatBuf bDec, FloatBuf wEnc, FloatBuf bEnc, boolean applyBDec, StepShape shape,
                       FloatBuf xIn, FloatBuf pre) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        float[] xs = f(x);
        float[] bd = f(bDec);
        float[] we = f(wEnc);
        float[] be = f(bEnc);
        float[] xi = f(xIn);
        float[] p = f(pre);
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < dIn; j++) {
                xi[b * dIn + j] = applyBDec ? xs[b * dIn + j] - bd[j] : xs[b * dIn + j];
            }
        }
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                double s = be[i];
                for (int j = 0; j < dIn; j++) {
                    s += (double) xi[b * dIn + j] * we[i * dIn + j];
                }
                p[b * nLatents + i] = (float) s;
            }
        }
    }

    @Override
    public void topk(FloatBuf pre, StepShape shape, int k, IntBuf lastFired, int deadBefore, SparseActs out) {
        int batch = shape.batch();
        int nLatents = shape.nLatents();
        if ((long) batch * k > out.capacity()) {
            throw new IllegalArgumentException("topk needs " + (long) batch * k + " entries, out holds " + out.capacity());
        }
        float[] p = f(pre);
        int[] last = lastFired == null ? null : n(lastFired);
        int[] rowPtr = n(out.rowPtr());
        int[] idx = n(out.idx());
        float[] val = f(out.val());
        for (int b = 0; b < batch; b++) {
            List<Integer> cand = new ArrayList<>();
            for (int i = 0; i < nLatents; i++) {
                if (last == null || last[i] <= deadBefore) {
                    cand.add(i);
                }
            }
            if (cand.size() < k) {
                throw new IllegalArgumentException("topk: " + cand.size() + " candidates < k = " + k);
            }
            int row = b;
            // List.sort is stable: equal values keep index order.
            cand.sort(Comparator.comparingDouble((Integer i) -> p[row * nLatents + i]).reversed());
            for (int r = 0; r < k; r++) {
                int i = cand.get(r);
                idx[b * k + r] = i;
                val[b * k + r] = Math.max(0f, p[b * nLatents + i]);
            }
        }
        for (int b = 0; b <= batch; b++) {
            rowPtr[b] = b * k;
        }
    }

    @Override
    public long reluSparse(FloatBuf pre, StepShape shape, SparseActs out) {
        int batch = shape.batch();
        int nLatents = shape.nLatents();
        float[] p = f(pre);
        int[] rowPtr = n(out.rowPtr());
        long total = 0;
        rowPtr[0] = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                if (p[b * nLatents + i] > 0) {
                    total++;
                }
            }
            rowPtr[b + 1] = (int) Math.min(total, Integer.MAX_VALUE);
        }
        if (total > out.capacity()) {
            return -1;
        }
        int[] idx = n(out.idx());
        float[] val = f(out.val());
        int e = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                float v = p[b * nLatents + i];
                if (v > 0) {
                    idx[e] = i;
                    val[e] = v;
                    e++;
                }
            }
        }
        return total;
    }

    @Override
    public long reluDense(FloatBuf pre, StepShape shape) {
        int batch = shape.batch();
        int nLatents = shape.nLatents();
        float[] p = f(pre);
        long c = 0;
        for (int i = 0; i < batch * nLatents; i++) {
            if (p[i] > 0) {
                c++;
            } else {
                p[i] = 0f;
            }
        }
        return c;
    }

    @Override
    public void recordFires(SparseActs acts, int nLatents, IntBuf counts, IntBuf lastFired, int step, FloatBuf actSums) {
        int[] rowPtr = n(acts.rowPtr());
        int[] idx = n(acts.idx());
        float[] val = f(acts.val());
        double[] sums = new double[nLatents];
        for (int e = 0; e < rowPtr[acts.batch()]; e++) {
            if (val[e] > 0) {
                n(counts)[idx[e]]++;
                n(lastFired)[idx[e]] = step;
                sums[idx[e]] += val[e];
            }
        }
        storeSums(sums, actSums);
    }

    @Override
    public void recordFiresDense(FloatBuf fd, StepShape shape, IntBuf counts, IntBuf lastFired, int step,
                                 FloatBuf actSums) {
        int batch = shape.batch();
        int nLatents = shape.nLatents();
        float[] v = f(fd);
        double[] sums = new double[nLatents];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                if (v[b * nLatents + i] > 0) {
                    n(counts)[i]++;
                    n(lastFired)[i] = step;
                    sums[i] += v[b * nLatents + i];
                }
            }
        }
        storeSums(sums, actSums);
    }

    @Override
    public long reluDenseFires(FloatBuf pre, StepShape shape, IntBuf counts, IntBuf lastFired, int step,
                               FloatBuf actSums) {
        long c = reluDense(pre, shape);
        recordFiresDense(pre, shape, counts, lastFired, step, actSums);
        return c;
    }

    private static void storeSums(double[] sums, FloatBuf actSums) {
        if (actSums != null) {
            for (int i = 0; i < sums.length; i++) {
                f(actSums)[i] = (float) sums[i];
            }
        }
    }

    @Override
    public double sparseDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target, StepShape shape,
                               FloatBuf xHat, FloatBuf err) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int[] rowPtr = n(acts.rowPtr());
        int[] idx = n(acts.idx());
        float[] val = f(acts.val());
        float[] wd = f(wDec);
        double[] xh = new double[batch * dIn];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < dIn; j++) {
                double s = bDec == null ? 0 : f(bDec)[j];
                for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                    s += (double) val[e] * wd[idx[e] * dIn + j];
                }
                xh[b * dIn + j] = s;
            }
        }
        return storeDecode(xh, f(target), f(xHat), f(err));
    }

    @Override
    public double denseDecode(FloatBuf fd, FloatBuf wDec, FloatBuf bDec, FloatBuf target, StepShape shape,
                              FloatBuf xHat, FloatBuf err) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        float[] fv = f(fd);
        float[] wd = f(wDec);
        double[] xh = new double[batch * dIn];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < dIn; j++) {
                double s = f(bDec)[j];
                for (int i = 0; i < nLatents; i++) {
                    s += (double) fv[b * nLatents + i] * wd[i * dIn + j];
                }
                xh[b * dIn + j] = s;
            }
        }
        return storeDecode(xh, f(target), f(xHat), f(err));
    }

    private static double storeDecode(double[] xh, float[] target, float[] xHat, float[] err) {
        double sse = 0;
        for (int q = 0; q < xh.length; q++) {
            double e = xh[q] - target[q];
            xHat[q] = (float) xh[q];
            err[q] = (float) e;
            sse += e * e;
        }
        return sse;
    }

    @Override
    public double centeredSumSquares(FloatBuf x, int batch, int dIn) {
        float[] xs = f(x);
        double s = 0;
        for (int j = 0; j < dIn; j++) {
            double mean = 0;
            for (int b = 0; b < batch; b++) {
                mean += xs[b * dIn + j];
            }
            mean /= batch;
            for (int b = 0; b < batch; b++) {
                double d = xs[b * dIn + j] - mean;
                s += d * d;
            }
        }
        return s;
    }

    @Override
    public void addColumnSums(FloatBuf x, int batch, int dIn, float scale, FloatBuf out) {
        float[] xs = f(x);
        float[] o = f(out);
        for (int j = 0; j < dIn; j++) {
            double s = 0;
            for (int b = 0; b < batch; b++) {
                s += xs[b * dIn + j];
            }
            o[j] = (float) (o[j] + scale * s);
        }
    }

    /** Zeroes row i of a row-sparse gradient the first time it is touched, and sets its flag. */
    private static void touch(float[] g, int[] flags, int i, int cols) {
        if (flags[i] == 0) {
            Arrays.fill(g, i * cols, (i + 1) * cols, 0f);
            flags[i] = 1;
        }
    }

    @Override
    public void sparseDecoderBackward(SparseActs acts, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent,
                                      StepShape shape, FloatBuf dWDec, IntBuf rowActive) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        int[] rowPtr = n(acts.rowPtr());
        int[] idx = n(acts.idx());
        float[] val = f(acts.val());
        float[] grad = f(acts.grad());
        float[] er = f(err);
        float[] wd = f(wDec);
        for (int b = 0; b < batch; b++) {
            for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                int i = idx[e];
                double s = 0;
                for (int j = 0; j < dIn; j++) {
                    s += (double) scale * er[b * dIn + j] * wd[i * dIn + j];
                }
                if (l1PerLatent != null) {
                    s += f(l1PerLatent)[i];
                }
                grad[e] = val[e] > 0 ? (float) s : 0f;
            }
        }
        float[] g = f(dWDec);
        int[] flags = n(rowActive);
        for (int i = 0; i < nLatents; i++) {
            double[] acc = null;
            for (int b = 0; b < batch; b++) {
                for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                    if (idx[e] != i || val[e] <= 0) {
                        continue;
                    }
                    if (acc == null) {
                        acc = new double[dIn];
                    }
                    for (int j = 0; j < dIn; j++) {
                        acc[j] += (double) scale * val[e] * er[b * dIn + j];
                    }
                }
            }
            if (acc != null) {
                touch(g, flags, i, dIn);
                for (int j = 0; j < dIn; j++) {
                    g[i * dIn + j] = (float) (g[i * dIn + j] + acc[j]);
                }
            }
        }
    }

    @Override
    public void sparseEncoderBackward(SparseActs acts, FloatBuf xIn, StepShape shape, FloatBuf dWEnc, FloatBuf dBEnc,
                                      IntBuf rowActive) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        int[] rowPtr = n(acts.rowPtr());
        int[] idx = n(acts.idx());
        float[] val = f(acts.val());
        float[] grad = f(acts.grad());
        float[] xi = f(xIn);
        float[] g = f(dWEnc);
        float[] gb = f(dBEnc);
        int[] flags = n(rowActive);
        for (int i = 0; i < nLatents; i++) {
            double[] acc = null;
            double bsum = 0;
            for (int b = 0; b < batch; b++) {
                for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                    // Entries of value <= 0 carry no gradient (SparseActs).
                    if (idx[e] != i || val[e] <= 0) {
                        continue;
                    }
                    if (acc == null) {
                        acc = new double[dIn];
                    }
                    bsum += grad[e];
                    for (int j = 0; j < dIn; j++) {
                        acc[j] += (double) grad[e] * xi[b * dIn + j];
                    }
                }
            }
            if (acc != null) {
                touch(g, flags, i, dIn);
                for (int j = 0; j < dIn; j++) {
                    g[i * dIn + j] = (float) (g[i * dIn + j] + acc[j]);
                }
                gb[i] = (float) (gb[i] + bsum);
            }
        }
    }

    @Override
    public void denseBackward(FloatBuf fd, FloatBuf err, float scale, FloatBuf wDec, FloatBuf l1PerLatent, FloatBuf xIn,
                              StepShape shape, FloatBuf dpreScratch, SaeGrads grads, boolean accumulate) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        FloatBuf dWDec = grads.dWDec();
        IntBuf decActive = grads.decActive();
        FloatBuf dWEnc = grads.dWEnc();
        IntBuf encActive = grads.encActive();
        FloatBuf dBEnc = grads.dBEnc();
        float[] fv = f(fd);
        float[] er = f(err);
        float[] wd = f(wDec);
        float[] xi = f(xIn);
        float[] dp = f(dpreScratch);
        if (accumulate) {
            for (int i = 0; i < nLatents; i++) {
                if (n(decActive)[i] == 0 || n(encActive)[i] == 0) {
                    throw new IllegalStateException("denseBackward: accumulating needs every gradient flag set, row "
                            + i + " has none");
                }
            }
        }
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                double s = 0;
                for (int j = 0; j < dIn; j++) {
                    s += (double) scale * er[b * dIn + j] * wd[i * dIn + j];
                }
                if (l1PerLatent != null) {
                    s += f(l1PerLatent)[i];
                }
                dp[b * nLatents + i] = fv[b * nLatents + i] > 0 ? (float) s : 0f;
            }
        }
        for (int i = 0; i < nLatents; i++) {
            double bsum = 0;
            for (int b = 0; b < batch; b++) {
                bsum += dp[b * nLatents + i];
            }
            f(dBEnc)[i] = (float) (accumulate ? f(dBEnc)[i] + bsum : bsum);
            for (int j = 0; j < dIn; j++) {
                double sd = accumulate ? f(dWDec)[i * dIn + j] : 0;
                double se = accumulate ? f(dWEnc)[i * dIn + j] : 0;
                for (int b = 0; b < batch; b++) {
                    sd += (double) fv[b * nLatents + i] * scale * er[b * dIn + j];
                    se += (double) dp[b * nLatents + i] * xi[b * dIn + j];
                }
                f(dWDec)[i * dIn + j] = (float) sd;
                f(dWEnc)[i * dIn + j] = (float) se;
            }
            n(decActive)[i] = 1;
            n(encActive)[i] = 1;
        }
    }

    @Override
    public void addVecMat(FloatBuf v, FloatBuf w, int rows, int cols, float alpha, FloatBuf out) {
        for (int j = 0; j < cols; j++) {
            double s = 0;
            for (int i = 0; i < rows; i++) {
                s += (double) f(v)[i] * f(w)[i * cols + j];
            }
            f(out)[j] = (float) (f(out)[j] + alpha * s);
        }
    }

    @Override
    public void addScaledRows(FloatBuf w, FloatBuf coef, int rows, int cols, FloatBuf dW, IntBuf rowActive) {
        float[] ws = f(w);
        float[] g = f(dW);
        for (int i = 0; i < rows; i++) {
            float c = f(coef)[i];
            if (c == 0f) {
                continue;
            }
            touch(g, n(rowActive), i, cols);
            for (int j = 0; j < cols; j++) {
                g[i * cols + j] = (float) (g[i * cols + j] + (double) c * ws[i * cols + j]);
            }
        }
    }

    @Override
    public void l1DecoderCoefficients(FloatBuf actSums, FloatBuf norms, float lambdaOverB, int nLatents,
                                      FloatBuf out) {
        for (int i = 0; i < nLatents; i++) {
            double ni = f(norms)[i];
            f(out)[i] = ni > 0 ? (float) (lambdaOverB * (double) f(actSums)[i] / ni) : 0f;
        }
    }

    @Override
    public void rowNorms(FloatBuf w, int rows, int cols, FloatBuf norms) {
        for (int i = 0; i < rows; i++) {
            f(norms)[i] = (float) Math.sqrt(rowSumSquares(f(w), i, cols));
        }
    }

    private static double rowSumSquares(float[] a, int i, int cols) {
        double s = 0;
        for (int j = 0; j < cols; j++) {
            s += (double) a[i * cols + j] * a[i * cols + j];
        }
        return s;
    }

    @Override
    public void projectOutParallel(FloatBuf w, FloatBuf g, int rows, int cols, IntBuf rowActive) {
        float[] ws = f(w);
        float[] gs = f(g);
        for (int i = 0; i < rows; i++) {
            if (n(rowActive)[i] == 0) {
                continue;
            }
            double dot = 0;
            for (int j = 0; j < cols; j++) {
                dot += (double) gs[i * cols + j] * ws[i * cols + j];
            }
            for (int j = 0; j < cols; j++) {
                gs[i * cols + j] = (float) (gs[i * cols + j] - dot * ws[i * cols + j]);
            }
        }
    }

    @Override
    public void normalizeRows(FloatBuf w, int rows, int cols) {
        float[] ws = f(w);
        for (int i = 0; i < rows; i++) {
            double norm = Math.sqrt(rowSumSquares(ws, i, cols));
            if (norm > 0) {
                for (int j = 0; j < cols; j++) {
                    ws[i * cols + j] = (float) (ws[i * cols + j] / norm);
                }
            }
        }
    }

    @Override
    public double sumSquares(FloatBuf g, int rows, int cols, IntBuf rowActive) {
        double s = 0;
        for (int i = 0; i < rows; i++) {
            if (rowActive == null || n(rowActive)[i] != 0) {
                s += rowSumSquares(f(g), i, cols);
            }
        }
        return s;
    }

    @Override
    public void clearFlags(IntBuf rowActive, int rows) {
        Arrays.fill(n(rowActive), 0, rows, 0);
    }

    @Override
    public void adamStep(FloatBuf param, FloatBuf grad, FloatBuf m, FloatBuf v, int rows, int cols, IntBuf rowActive,
                         AdamUpdate u) {
        // The formula as Device states it, in double (not AdamUpdate's float step size: this is the reference).
        float lr = u.lr();
        float beta1 = u.beta1();
        float beta2 = u.beta2();
        float eps = u.eps();
        float gradScale = u.gradScale();
        int t = u.t();
        float[] p = f(param);
        float[] gs = f(grad);
        float[] ms = f(m);
        float[] vs = f(v);
        double bc1 = 1 - Math.pow(beta1, t);
        double bc2 = 1 - Math.pow(beta2, t);
        for (int i = 0; i < rows; i++) {
            boolean active = rowActive == null || n(rowActive)[i] != 0;
            for (int j = 0; j < cols; j++) {
                int q = i * cols + j;
                double g = active ? (double) gradScale * gs[q] : 0;
                double mq = beta1 * (double) ms[q] + (1 - (double) beta1) * g;
                double vq = beta2 * (double) vs[q] + (1 - (double) beta2) * g * g;
                ms[q] = (float) mq;
                vs[q] = (float) vq;
                p[q] = (float) (p[q] - lr * (mq / bc1) / (Math.sqrt(vq / bc2) + eps));
            }
        }
    }

    @Override
    public void synchronize() {
        // plain loops complete before they return
    }

    @Override
    public void close() {
        // heap memory
    }

    // relu-2023 (dead-latent resampling) and tied weights

    @Override
    public void resampleRows(FloatBuf x, SaeParams params, IntBuf latents, IntBuf rows, int count, int dIn,
                             float encNorm) {
        FloatBuf bDec = params.bDec();
        FloatBuf wDec = params.wDec();
        FloatBuf wEnc = params.wEnc();
        FloatBuf bEnc = params.bEnc();
        for (int q = 0; q < count; q++) {
            int i = n(latents)[q];
            int b = n(rows)[q];
            double[] v = new double[dIn];
            double s = 0;
            for (int j = 0; j < dIn; j++) {
                v[j] = (double) f(x)[b * dIn + j] - f(bDec)[j];
                s += v[j] * v[j];
            }
            double norm = Math.sqrt(s);
            for (int j = 0; j < dIn; j++) {
                double u = norm > 0 ? v[j] / norm : 0;
                f(wDec)[i * dIn + j] = (float) u;
                f(wEnc)[i * dIn + j] = (float) (encNorm * u);
            }
            f(bEnc)[i] = 0f;
        }
    }

    @Override
    public void zeroRows(FloatBuf buf, IntBuf rows, int count, int cols) {
        for (int q = 0; q < count; q++) {
            Arrays.fill(f(buf), n(rows)[q] * cols, (n(rows)[q] + 1) * cols, 0f);
        }
    }

    // the architectures' kernels: this object itself

    @Override
    public JumpReluOps jumpReluOps() {
        return this;
    }

    @Override
    public GatedOps gatedOps() {
        return this;
    }

    @Override
    public MatryoshkaOps matryoshkaOps() {
        return this;
    }

    @Override
    public BatchTopkOps batchTopkOps() {
        return this;
    }

    /** The CPU's: parity checks and reference runs take the same paths as the CPU device. */
    @Override
    public SparseSwitch sparseSwitch() {
        return SparseSwitch.MEASURED_ON_CPU;
    }

    // batchtopk and jumprelu

    @Override
    public long batchTopk(FloatBuf pre, StepShape shape, long kTotal, SparseActs out, FloatBuf minKept) {
        int batch = shape.batch();
        int nLatents = shape.nLatents();
        if (kTotal > out.capacity()) {
            throw new IllegalArgumentException("batchTopk keeps up to " + kTotal + ", out holds " + out.capacity());
        }
        float[] p = f(pre);
        List<Integer> positive = new ArrayList<>();
        for (int q = 0; q < batch * nLatents; q++) {
            if (p[q] > 0) {
                positive.add(q);
            }
        }
        // Stable sort: equal values keep row-major order, the tie rule BatchTopkOps.batchTopk states.
        positive.sort(Comparator.comparingDouble((Integer q) -> p[q]).reversed());
        int r = (int) Math.min(kTotal, positive.size());
        boolean[] kept = new boolean[batch * nLatents];
        float min = 0f;
        for (int q = 0; q < r; q++) {
            kept[positive.get(q)] = true;
            min = p[positive.get(q)];
        }
        int[] rowPtr = n(out.rowPtr());
        int[] idx = n(out.idx());
        float[] val = f(out.val());
        int e = 0;
        rowPtr[0] = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                if (kept[b * nLatents + i]) {
                    idx[e] = i;
                    val[e] = p[b * nLatents + i];
                    e++;
                }
            }
            rowPtr[b + 1] = e;
        }
        f(minKept)[0] = min;
        return r;
    }

    @Override
    public long batchTopkMerge(SparseActs[] blocks, long kTotal, SparseActs out, FloatBuf minKept) {
        if (kTotal > out.capacity()) {
            throw new IllegalArgumentException("batchTopkMerge keeps up to " + kTotal + ", out holds "
                    + out.capacity());
        }
        // Every entry in position order: (row of the batch, latent, value).
        List<int[]> at = new ArrayList<>();
        List<Float> values = new ArrayList<>();
        int row = 0;
        for (SparseActs c : blocks) {
            int[] ptr = n(c.rowPtr());
            for (int b = 0; b < c.batch(); b++, row++) {
                for (int e = ptr[b]; e < ptr[b + 1]; e++) {
                    at.add(new int[] {row, n(c.idx())[e]});
                    values.add(f(c.val())[e]);
                }
            }
        }
        if (row != out.batch()) {
            throw new IllegalArgumentException("batchTopkMerge: the blocks hold " + row + " rows, out " + out.batch());
        }
        List<Integer> positive = new ArrayList<>();
        for (int q = 0; q < values.size(); q++) {
            if (values.get(q) > 0) {
                positive.add(q);
            }
        }
        // Stable sort: equal values keep position order, the tie rule BatchTopkOps.batchTopkMerge states.
        positive.sort(Comparator.comparingDouble((Integer q) -> values.get(q)).reversed());
        int r = (int) Math.min(kTotal, positive.size());
        boolean[] kept = new boolean[values.size()];
        float min = 0f;
        for (int q = 0; q < r; q++) {
            kept[positive.get(q)] = true;
            min = values.get(positive.get(q));
        }
        int[] rowPtr = n(out.rowPtr());
        int[] idx = n(out.idx());
        float[] val = f(out.val());
        Arrays.fill(rowPtr, 0, out.batch() + 1, 0);
        int e = 0;
        for (int q = 0; q < values.size(); q++) {
            if (kept[q]) {
                idx[e] = at.get(q)[1];
                val[e] = values.get(q);
                e++;
                rowPtr[at.get(q)[0] + 1]++;
            }
        }
        for (int b = 0; b < out.batch(); b++) {
            rowPtr[b + 1] += rowPtr[b];
        }
        f(minKept)[0] = min;
        return r;
    }

    @Override
    public void expInto(FloatBuf src, FloatBuf dst, long count) {
        for (int i = 0; i < count; i++) {
            f(dst)[i] = (float) Math.exp(f(src)[i]);
        }
    }

    @Override
    public long jumpReluSparse(FloatBuf pre, FloatBuf threshold, StepShape shape, SparseActs out) {
        int batch = shape.batch();
        int nLatents = shape.nLatents();
        float[] p = f(pre);
        float[] th = f(threshold);
        int[] rowPtr = n(out.rowPtr());
        long total = 0;
        rowPtr[0] = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                if (p[b * nLatents + i] > th[i]) {
                    total++;
                }
            }
            rowPtr[b + 1] = (int) Math.min(total, Integer.MAX_VALUE);
        }
        if (total > out.capacity()) {
            return -1;
        }
        int e = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                if (p[b * nLatents + i] > th[i]) {
                    n(out.idx())[e] = i;
                    f(out.val())[e] = p[b * nLatents + i];
                    e++;
                }
            }
        }
        return total;
    }

    @Override
    public long jumpReluDense(FloatBuf pre, FloatBuf threshold, StepShape shape, FloatBuf fOut) {
        int batch = shape.batch();
        int nLatents = shape.nLatents();
        float[] p = f(pre);
        float[] th = f(threshold);
        long c = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                float v = p[b * nLatents + i];
                f(fOut)[b * nLatents + i] = v > th[i] ? v : 0f;
                c += v > th[i] ? 1 : 0;
            }
        }
        return c;
    }

    @Override
    public void jumpReluThresholdBackward(FloatBuf pre, FloatBuf threshold, FloatBuf err, float scale, FloatBuf wDec,
                                          float eps, float l0Scale, StepShape shape, FloatBuf dLogThreshold) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        float[] p = f(pre);
        float[] th = f(threshold);
        float[] er = f(err);
        float[] wd = f(wDec);
        for (int i = 0; i < nLatents; i++) {
            double dTheta = 0;
            for (int b = 0; b < batch; b++) {
                if (Math.abs((double) p[b * nLatents + i] - th[i]) < eps / 2.0) {
                    double dLdf = 0;
                    for (int j = 0; j < dIn; j++) {
                        dLdf += (double) scale * er[b * dIn + j] * wd[i * dIn + j];
                    }
                    dTheta += -(th[i] / (double) eps) * dLdf - l0Scale / (double) eps;
                }
            }
            f(dLogThreshold)[i] = (float) (th[i] * dTheta);
        }
    }

    // matryoshka

    /** The prefix bound of group g: latents [0, ends[g]); checks the ends as Device states them. */
    private static int[] groupEnds(IntBuf groupEnds, int groups, int nLatents) {
        int[] ends = n(groupEnds);
        GroupEnds.check(ends, groups, nLatents);
        return Arrays.copyOf(ends, groups);
    }

    @Override
    public double[] matryoshkaDecode(SparseActs acts, FloatBuf wDec, FloatBuf bDec, FloatBuf target, Groups nested,
                                     StepShape shape, FloatBuf xHat, FloatBuf err) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        int groups = nested.groups();
        FloatBuf residSuffix = nested.residSuffix();
        int[] ends = groupEnds(nested.groupEnds(), groups, nLatents);
        int[] rowPtr = n(acts.rowPtr());
        int[] idx = n(acts.idx());
        float[] val = f(acts.val());
        float[] wd = f(wDec);
        float[] x = f(target);
        double[] sse = new double[groups];
        double[][] errs = new double[groups][batch * dIn];
        // Each prefix decoded from scratch: x_hat_g = sum over entries with latent < ends[g] of val * wDec + bDec.
        for (int g = 0; g < groups; g++) {
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < dIn; j++) {
                    double s = f(bDec)[j];
                    for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                        if (idx[e] < ends[g]) {
                            s += (double) val[e] * wd[idx[e] * dIn + j];
                        }
                    }
                    double d = s - x[b * dIn + j];
                    errs[g][b * dIn + j] = d;
                    sse[g] += d * d;
                    if (g == groups - 1) {
                        f(xHat)[b * dIn + j] = (float) s;
                        f(err)[b * dIn + j] = (float) d;
                    }
                }
            }
        }
        for (int g = 0; g < groups; g++) {
            for (int q = 0; q < batch * dIn; q++) {
                double s = 0;
                for (int h = g; h < groups; h++) {
                    s += errs[h][q];
                }
                f(residSuffix)[g * batch * dIn + q] = (float) s;
            }
        }
        return sse;
    }

    @Override
    public void matryoshkaDecoderBackward(SparseActs acts, Groups nested, float scale, FloatBuf wDec, StepShape shape,
                                          FloatBuf dWDec, IntBuf rowActive) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        FloatBuf residSuffix = nested.residSuffix();
        int[] ends = groupEnds(nested.groupEnds(), nested.groups(), nLatents);
        int[] rowPtr = n(acts.rowPtr());
        int[] idx = n(acts.idx());
        float[] val = f(acts.val());
        float[] grad = f(acts.grad());
        float[] rs = f(residSuffix);
        float[] wd = f(wDec);
        int[] group = new int[nLatents];
        for (int i = 0; i < nLatents; i++) {
            while (i >= ends[group[i]]) {
                group[i]++;
            }
        }
        for (int b = 0; b < batch; b++) {
            for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                int i = idx[e];
                int so = (group[i] * batch + b) * dIn;
                double s = 0;
                for (int j = 0; j < dIn; j++) {
                    s += (double) scale * rs[so + j] * wd[i * dIn + j];
                }
                grad[e] = val[e] > 0 ? (float) s : 0f;
            }
        }
        float[] g = f(dWDec);
        int[] flags = n(rowActive);
        for (int i = 0; i < nLatents; i++) {
            double[] acc = null;
            for (int b = 0; b < batch; b++) {
                for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                    if (idx[e] != i || val[e] <= 0) {
                        continue;
                    }
                    if (acc == null) {
                        acc = new double[dIn];
                    }
                    int so = (group[i] * batch + b) * dIn;
                    for (int j = 0; j < dIn; j++) {
                        acc[j] += (double) scale * val[e] * rs[so + j];
                    }
                }
            }
            if (acc != null) {
                touch(g, flags, i, dIn);
                for (int j = 0; j < dIn; j++) {
                    g[i * dIn + j] += (float) acc[j];
                }
            }
        }
    }

    // gated

    /** pi_mag_bi = magScale_i (pre_bi - bGate_i) + bMag_i, in double. */
    private static double magnitude(float[] p, float[] bGate, float[] bMag, float[] magScale, int b, int i, int nLatents) {
        return (double) magScale[i] * ((double) p[b * nLatents + i] - bGate[i]) + bMag[i];
    }

    @Override
    public long gatedSparse(FloatBuf pre, Latents latents, StepShape shape, SparseActs out, FloatBuf gateVal,
                            FloatBuf gateSums, IntBuf fired) {
        int batch = shape.batch();
        int nLatents = shape.nLatents();
        FloatBuf bGate = latents.bGate();
        FloatBuf bMag = latents.bMag();
        FloatBuf magScale = latents.magScale();
        float[] p = f(pre);
        int[] rowPtr = n(out.rowPtr());
        long total = 0;
        rowPtr[0] = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                total += p[b * nLatents + i] > 0 ? 1 : 0;
            }
            rowPtr[b + 1] = (int) Math.min(total, Integer.MAX_VALUE);
        }
        if (total > out.capacity()) {
            return -1;
        }
        double[] sums = new double[nLatents];
        int on = 0;
        int e = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                float v = p[b * nLatents + i];
                if (v > 0) {
                    float mag = (float) Math.max(0, magnitude(p, f(bGate), f(bMag), f(magScale), b, i, nLatents));
                    n(out.idx())[e] = i;
                    f(out.val())[e] = mag;
                    f(gateVal)[e] = v;
                    sums[i] += v;
                    on += mag > 0 ? 1 : 0;
                    e++;
                }
            }
        }
        for (int i = 0; i < nLatents; i++) {
            f(gateSums)[i] = (float) sums[i];
        }
        n(fired)[0] = on;
        return total;
    }

    @Override
    public long gatedDense(FloatBuf pre, Latents latents, StepShape shape, FloatBuf fOut, FloatBuf gateSums,
                           IntBuf fired) {
        int batch = shape.batch();
        int nLatents = shape.nLatents();
        FloatBuf bGate = latents.bGate();
        FloatBuf bMag = latents.bMag();
        FloatBuf magScale = latents.magScale();
        float[] p = f(pre);
        double[] sums = new double[nLatents];
        long open = 0;
        int on = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                int q = b * nLatents + i;
                float v = p[q];
                float mag = v > 0 ? (float) Math.max(0, magnitude(p, f(bGate), f(bMag), f(magScale), b, i, nLatents)) : 0f;
                f(fOut)[q] = mag;
                on += mag > 0 ? 1 : 0;
                if (v > 0) {
                    open++;
                    sums[i] += v;
                } else {
                    p[q] = 0f;
                }
            }
        }
        for (int i = 0; i < nLatents; i++) {
            f(gateSums)[i] = (float) sums[i];
        }
        n(fired)[0] = on;
        return open;
    }

    /** Per-entry dL/dpi_gate and the per-latent sums of the gated backward, shared by the sparse and dense forms. */
    private static double gateGrad(float[] auxErr, double auxScale, float[] wDec, float[] l1, int b, int i, int dIn) {
        double dot = 0;
        for (int j = 0; j < dIn; j++) {
            dot += (double) auxErr[b * dIn + j] * wDec[i * dIn + j];
        }
        return auxScale * dot + l1[i];
    }

    @Override
    public void gatedSparseBackward(SparseActs acts, SparseActs gate, Residuals r, FloatBuf wDec, Latents latents,
                                    StepShape shape, Grads grads, boolean accumulate) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        FloatBuf auxErr = r.auxErr();
        float auxScale = r.auxScale();
        FloatBuf l1PerLatent = latents.l1PerLatent();
        FloatBuf magScale = latents.magScale();
        FloatBuf bMag = latents.bMag();
        FloatBuf dBGate = grads.shared().dBEnc();
        FloatBuf dBMag = grads.dBMag();
        FloatBuf dRMag = grads.dRMag();
        int[] rowPtr = n(acts.rowPtr());
        int[] idx = n(acts.idx());
        double[] sGate = new double[nLatents];
        double[] sMag = new double[nLatents];
        double[] sR = new double[nLatents];
        for (int b = 0; b < batch; b++) {
            for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                int i = idx[e];
                double dg = gateGrad(f(auxErr), auxScale, f(wDec), f(l1PerLatent), b, i, dIn);
                double gm = f(acts.grad())[e];
                sGate[i] += dg;
                sMag[i] += gm;
                sR[i] += gm * ((double) f(acts.val())[e] - f(bMag)[i]);
                f(gate.grad())[e] = (float) (dg + f(magScale)[i] * gm);
            }
        }
        for (int i = 0; i < nLatents; i++) {
            put(dBGate, i, sGate[i], accumulate);
            put(dBMag, i, sMag[i], accumulate);
            put(dRMag, i, sR[i], accumulate);
        }
    }

    /** buf[i] = v, or buf[i] + v with {@code accumulate}, rounded once to fp32. */
    private static void put(FloatBuf buf, int i, double v, boolean accumulate) {
        f(buf)[i] = (float) (accumulate ? f(buf)[i] + v : v);
    }

    @Override
    public void gatedDenseBackward(FloatBuf gate, FloatBuf fIn, Residuals r, FloatBuf wDec, FloatBuf xIn,
                                   Latents latents, StepShape shape, FloatBuf scratch, Grads grads,
                                   boolean accumulate) {
        int batch = shape.batch();
        int dIn = shape.dIn();
        int nLatents = shape.nLatents();
        FloatBuf err = r.err();
        float scale = r.scale();
        FloatBuf auxErr = r.auxErr();
        float auxScale = r.auxScale();
        FloatBuf l1PerLatent = latents.l1PerLatent();
        FloatBuf magScale = latents.magScale();
        FloatBuf bMag = latents.bMag();
        SaeGrads shared = grads.shared();
        FloatBuf dWDec = shared.dWDec();
        IntBuf decActive = shared.decActive();
        FloatBuf dWEnc = shared.dWEnc();
        IntBuf encActive = shared.encActive();
        FloatBuf dBGate = shared.dBEnc();
        FloatBuf dBMag = grads.dBMag();
        FloatBuf dRMag = grads.dRMag();
        FloatBuf dpreSums = grads.dpreSums();
        float[] fv = f(fIn).clone();
        float[] gv = f(gate);
        float[] er = f(err);
        float[] wd = f(wDec);
        float[] xi = f(xIn);
        double[] dpre = new double[batch * nLatents];
        double[] sGate = new double[nLatents];
        double[] sMag = new double[nLatents];
        double[] sR = new double[nLatents];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                int q = b * nLatents + i;
                double gm = 0;
                if (fv[q] > 0) {
                    for (int j = 0; j < dIn; j++) {
                        gm += (double) scale * er[b * dIn + j] * wd[i * dIn + j];
                    }
                }
                double dg = gv[q] > 0 ? gateGrad(f(auxErr), auxScale, wd, f(l1PerLatent), b, i, dIn) : 0;
                sGate[i] += dg;
                sMag[i] += gm;
                sR[i] += gm * ((double) fv[q] - f(bMag)[i]);
                dpre[q] = dg + f(magScale)[i] * gm;
            }
        }
        for (int i = 0; i < nLatents; i++) {
            for (int j = 0; j < dIn; j++) {
                double w = 0;
                double g = 0;
                for (int b = 0; b < batch; b++) {
                    w += (double) scale * fv[b * nLatents + i] * er[b * dIn + j];
                    g += dpre[b * nLatents + i] * xi[b * dIn + j];
                }
                put(dWDec, i * dIn + j, w, accumulate);
                put(dWEnc, i * dIn + j, g, accumulate);
            }
            double p = 0;
            for (int b = 0; b < batch; b++) {
                p += dpre[b * nLatents + i];
            }
            put(dpreSums, i, p, accumulate);
            put(dBGate, i, sGate[i], accumulate);
            put(dBMag, i, sMag[i], accumulate);
            put(dRMag, i, sR[i], accumulate);
            n(decActive)[i] = 1;
            n(encActive)[i] = 1;
        }
    }
}
