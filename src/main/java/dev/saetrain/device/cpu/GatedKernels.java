package dev.saetrain.device.cpu;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import dev.saetrain.device.SparseActs;

/**
 * CPU kernels of the gated SAE (Rajamanoharan et al. 2024, "Improving Dictionary Learning with Gated Sparse
 * Autoencoders"): the gated activation, sparse (CSR over the open gates) and dense, and the encoder-side backward of
 * both. Formulas are in {@link dev.saetrain.device.arch.GatedOps}. pi_mag is computed from pi_gate in double and
 * rounded once, so the gate and magnitude decisions match the reference exactly. Sums over the sparse entries run
 * sequentially in CSR order (the entries are few once the step is sparse); dense sums use per-chunk partials merged in
 * chunk order, deterministic for a fixed thread count as the other dense reductions.
 */
final class GatedKernels {
    private static final int ROW_GRAIN = 4;

    private final Parallel par;
    private final Compaction compaction;

    GatedKernels(Parallel par) {
        this.par = par;
        this.compaction = new Compaction(par, ROW_GRAIN);
    }

    /** pi_mag from pi_gate: magScale (pre - bGate) + bMag, in double, rounded once. */
    private static float magnitude(float pre, float bGate, float bMag, float magScale) {
        return (float) ((double) magScale * ((double) pre - bGate) + bMag);
    }

    /** See GatedOps.gatedSparse: open gates compacted (see Compaction), then the per-latent sums in CSR order. */
    long gatedSparse(CpuFloatBuf pre, CpuFloatBuf bGate, CpuFloatBuf bMag, CpuFloatBuf magScale, int batch,
                     int nLatents, SparseActs out, CpuFloatBuf gateVal, CpuFloatBuf gateSums, int[] fired) {
        // Open gates are the entries with pi_gate > 0: compacted with their pi_gate values, which then move to
        // gateVal while val takes f = relu(pi_mag) in the same pass as the per-latent sums.
        long total = compaction.compactAbove(pre, null, batch, nLatents, out);
        if (total < 0) {
            return -1;
        }
        int[] idx = CpuDevice.ia(out.idx());
        CpuFloatBuf val = CpuDevice.fb(out.val());
        double[] sums = new double[nLatents];
        int on = 0;
        for (int e = 0; e < total; e++) {
            int i = idx[e];
            float gate = val.get(e);
            float f = Math.max(0f, magnitude(gate, bGate.get(i), bMag.get(i), magScale.get(i)));
            gateVal.put(e, gate);
            val.put(e, f);
            sums[i] += gate;
            on += f > 0 ? 1 : 0;
        }
        for (int i = 0; i < nLatents; i++) {
            gateSums.put(i, (float) sums[i]);
        }
        fired[0] = on;
        return total;
    }

    /** See GatedOps.gatedDense: one pass over pre, per-chunk partial sums merged in chunk order. */
    long gatedDense(CpuFloatBuf pre, CpuFloatBuf bGate, CpuFloatBuf bMag, CpuFloatBuf magScale, int batch,
                    int nLatents, CpuFloatBuf f, CpuFloatBuf gateSums, int[] fired) {
        int chunks = Math.max(1, par.chunks(batch, ROW_GRAIN));
        double[][] sums = new double[chunks][];
        long[] open = new long[chunks];
        long[] on = new long[chunks];
        par.forChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
            double[] s = new double[nLatents];
            long o = 0;
            long n = 0;
            for (int b = lo; b < hi; b++) {
                long base = (long) b * nLatents;
                for (int i = 0; i < nLatents; i++) {
                    float v = pre.get(base + i);
                    if (v > 0) {
                        float mag = Math.max(0f, magnitude(v, bGate.get(i), bMag.get(i), magScale.get(i)));
                        f.put(base + i, mag);
                        s[i] += v;
                        o++;
                        n += mag > 0 ? 1 : 0;
                    } else {
                        f.put(base + i, 0f);
                        pre.put(base + i, 0f);
                    }
                }
            }
            sums[ch] = s;
            open[ch] = o;
            on[ch] = n;
        });
        long totalOpen = 0;
        long totalOn = 0;
        for (int c = 0; c < chunks; c++) {
            totalOpen += open[c];
            totalOn += on[c];
        }
        mergeInto(sums, nLatents, gateSums, false);
        fired[0] = Math.toIntExact(totalOn);
        return totalOpen;
    }

    /**
     * out[i] = sum over chunks (in order) of parts[c][i], rounded once; null parts (empty chunks) count as zero. With
     * {@code accumulate} the rounded sum is added to out[i] instead (a row block after the first).
     */
    private void mergeInto(double[][] parts, int n, CpuFloatBuf out, boolean accumulate) {
        par.forRange(n, 256, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                double t = 0;
                for (double[] p : parts) {
                    t += p == null ? 0 : p[i];
                }
                put(out, i, (float) t, accumulate);
            }
        });
    }

    /** out[i] = v, or out[i] += v with {@code accumulate}. */
    private static void put(CpuFloatBuf out, long i, float v, boolean accumulate) {
        out.put(i, accumulate ? out.get(i) + v : v);
    }

    /** See GatedOps.gatedSparseBackward: the dot products per row in parallel, then the sums in CSR order. */
    void gatedSparseBackward(SparseActs acts, SparseActs gate, CpuFloatBuf auxErr, float auxScale, CpuFloatBuf wDec,
                             CpuFloatBuf l1PerLatent, CpuFloatBuf magScale, CpuFloatBuf bMag, int batch, int dIn,
                             int nLatents, CpuFloatBuf dBGate, CpuFloatBuf dBMag, CpuFloatBuf dRMag,
                             boolean accumulate) {
        int[] rowPtr = CpuDevice.ia(acts.rowPtr());
        int[] idx = CpuDevice.ia(acts.idx());
        CpuFloatBuf val = CpuDevice.fb(acts.val());
        CpuFloatBuf dMag = CpuDevice.fb(acts.grad());
        CpuFloatBuf dPre = CpuDevice.fb(gate.grad());
        par.forRange(batch, ROW_GRAIN, (lo, hi) -> {
            for (int b = lo; b < hi; b++) {
                long eo = (long) b * dIn;
                for (int e = rowPtr[b]; e < rowPtr[b + 1]; e++) {
                    long o = (long) idx[e] * dIn;
                    double dot = 0;
                    for (int j = 0; j < dIn; j++) {
                        dot += auxErr.get(eo + j) * wDec.get(o + j);
                    }
                    dPre.put(e, (float) (auxScale * dot) + l1PerLatent.get(idx[e]));
                }
            }
        });
        double[] sGate = new double[nLatents];
        double[] sMag = new double[nLatents];
        double[] sR = new double[nLatents];
        int n = rowPtr[batch];
        for (int e = 0; e < n; e++) {
            int i = idx[e];
            float dg = dPre.get(e);
            float gm = dMag.get(e);
            sGate[i] += dg;
            sMag[i] += gm;
            sR[i] += (double) gm * ((double) val.get(e) - bMag.get(i));
            dPre.put(e, dg + magScale.get(i) * gm);
        }
        for (int i = 0; i < nLatents; i++) {
            put(dBGate, i, (float) sGate[i], accumulate);
            put(dBMag, i, (float) sMag[i], accumulate);
            put(dRMag, i, (float) sR[i], accumulate);
        }
    }

    /**
     * See GatedOps.gatedDenseBackward. Four sgemm products (dW_dec, the two decoder-transpose products into scratch,
     * dW_enc) and two elementwise passes: the magnitude path first (its gradient, scaled by exp(r_mag), is parked in
     * f once f is no longer needed), then the gate path, which leaves dL/dpre in scratch. With {@code accumulate}
     * the products add into dW_dec and dW_enc (beta 1) and the sums into the per-latent gradients.
     */
    void gatedDenseBackward(CpuFloatBuf gate, CpuFloatBuf f, CpuFloatBuf err, float scale, CpuFloatBuf auxErr,
                            float auxScale, CpuFloatBuf wDec, CpuFloatBuf l1PerLatent, CpuFloatBuf magScale,
                            CpuFloatBuf bMag, CpuFloatBuf xIn, int batch, int dIn, int nLatents, CpuFloatBuf scratch,
                            CpuFloatBuf dWDec, int[] decActive, CpuFloatBuf dWEnc, int[] encActive, CpuFloatBuf dBGate,
                            CpuFloatBuf dBMag, CpuFloatBuf dRMag, CpuFloatBuf dpreSums, boolean accumulate) {
        float beta = accumulate ? 1f : 0f;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nLatents, dIn, batch,
                scale, f.pointer(0), nLatents, err.pointer(0), dIn, beta, dWDec.pointer(0), dIn);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, nLatents, dIn,
                scale, err.pointer(0), dIn, wDec.pointer(0), dIn, 0f, scratch.pointer(0), nLatents);
        int chunks = Math.max(1, par.chunks(batch, ROW_GRAIN));
        double[][] sMag = new double[chunks][];
        double[][] sR = new double[chunks][];
        par.forChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
            double[] a = new double[nLatents];
            double[] r = new double[nLatents];
            for (int b = lo; b < hi; b++) {
                long base = (long) b * nLatents;
                for (int i = 0; i < nLatents; i++) {
                    float fv = f.get(base + i);
                    float gm = fv > 0 ? scratch.get(base + i) : 0f;
                    a[i] += gm;
                    r[i] += (double) gm * ((double) fv - bMag.get(i));
                    f.put(base + i, magScale.get(i) * gm);
                }
            }
            sMag[ch] = a;
            sR[ch] = r;
        });
        mergeInto(sMag, nLatents, dBMag, accumulate);
        mergeInto(sR, nLatents, dRMag, accumulate);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, nLatents, dIn,
                auxScale, auxErr.pointer(0), dIn, wDec.pointer(0), dIn, 0f, scratch.pointer(0), nLatents);
        double[][] sGate = new double[chunks][];
        double[][] sPre = new double[chunks][];
        par.forChunks(batch, ROW_GRAIN, (ch, lo, hi) -> {
            double[] g = new double[nLatents];
            double[] p = new double[nLatents];
            for (int b = lo; b < hi; b++) {
                long base = (long) b * nLatents;
                for (int i = 0; i < nLatents; i++) {
                    float dg = gate.get(base + i) > 0 ? scratch.get(base + i) + l1PerLatent.get(i) : 0f;
                    float dp = dg + f.get(base + i);
                    g[i] += dg;
                    p[i] += dp;
                    scratch.put(base + i, dp);
                }
            }
            sGate[ch] = g;
            sPre[ch] = p;
        });
        mergeInto(sGate, nLatents, dBGate, accumulate);
        mergeInto(sPre, nLatents, dpreSums, accumulate);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nLatents, dIn, batch,
                1f, scratch.pointer(0), nLatents, xIn.pointer(0), dIn, beta, dWEnc.pointer(0), dIn);
        java.util.Arrays.fill(decActive, 0, nLatents, 1);
        java.util.Arrays.fill(encActive, 0, nLatents, 1);
    }
}
