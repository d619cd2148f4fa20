package dev.saetrain.train;

import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.util.Arrays;

/**
 * The training loss of one SAE over a whole batch, and its gradients, in double, as plain loops written from
 * {@link Engine}'s Javadoc (docs/design.md, "The training step"). Weights are latent-major like the device:
 * wEnc and wDec [nLatents, dIn], bEnc [nLatents], bDec [dIn]; x is [batch, dIn].
 * <pre>
 *   x_in = x - b_dec (x when applyBDecToInput is off);  pre = x_in W_enc^T + b_enc
 *   f = relu(pre) (relu) or relu of the k largest pre per row, ties to the lower index (topk)
 *   x_hat = f W_dec + b_dec;  mse = (1/B) sum_b |x_hat_b - x_b|^2
 *   relu: + lambda (1/B) sum_b sum_i f_bi |W_dec,i|
 *   relu-2023: + lambda (1/B) sum_b sum_i f_bi   (plain L1, Towards Monosemanticity)
 *   tied: W_enc and W_dec are one array (W_enc = W_dec^T in SAELens orientation); both gradients of the result
 *         are the same array, the sum of the encoder-path and decoder-path gradients
 *   batchtopk: f = the k * batch largest positive pre over the whole batch (ties to the lower flat index)
 *   matryoshka (Bussmann et al. 2025): batchtopk's f; the mse term is summed over the prefixes [0, m_j) of
 *         {@code groupEnds}, x_hat_j = f[:, 0:m_j] W_dec[0:m_j] + b_dec, each decoded and differentiated on its own;
 *         mse is the last (full) prefix's, sparsity holds the inner prefixes' sum, AuxK reconstructs x - x_hat_last
 *   jumprelu: f = pre * H(pre - theta), theta = exp(logThreshold); + lambda (1/B) sum_b sum_i H(pre_bi - theta_i);
 *         dLogThreshold is the straight-through pseudo-gradient (Rajamanoharan et al. 2024) with the rectangle
 *         kernel of width {@code bandwidth}: theta_i sum_b 1[|pre_bi - theta_i| < eps/2]
 *         (-(theta_i/eps) dL/df_bi - lambda / (B eps)), not a true derivative
 *   gated (Rajamanoharan et al. 2024): pre = pi_gate (W_enc = W_gate, b_enc = b_gate), pi_mag = x_in (W_gate_i exp(r_mag_i))
 *         + b_mag_i, f = 1[pi_gate > 0] relu(pi_mag); + lambda (1/B) sum_b sum_i relu(pi_gate_bi) |W^_dec,i|
 *         + (1/B) sum_b |relu(pi_gate_b) W^_dec + b^_dec - x_b|^2, where W^_dec, b^_dec are the frozen decoder
 *         ({@link #frozenWDec}, {@link #frozenBDec}; null: this SAE's own, as constants); params() and grads add
 *         rMag, bMag
 *   topk, batchtopk, matryoshka: + alpha sum_b |e_hat_b - e_b|^2 / sum_b |e_b - mean e|^2 when some latent is dead, alpha = 1/32,
 *         e = x - x_hat held constant (detached), e_hat = a W_dec with a = relu of the min(k_aux, dead) largest
 *         pre per row among the dead latents
 * </pre>
 * The gradients are of that loss with e constant; {@link #projectUnitNorm} gives the unit-norm decoder's
 * projected gradient the topk step applies.
 */
final class ReferenceSae {
    final Architecture arch;
    final int dIn;
    final int nLatents;
    final int k;
    final int kAux;
    final boolean applyBDec;
    final boolean tied;
    final double[] wEnc; // [m, d]; the same array as wDec when tied
    final double[] bEnc; // [m]
    final double[] wDec; // [m, d]
    final double[] bDec; // [d]
    /** jumprelu only: log theta [m] and the kernel bandwidth eps. */
    double[] logThreshold;
    double bandwidth;
    /** matryoshka only: the prefix ends m_j (strictly increasing, the last = nLatents). */
    int[] groupEnds;
    /** gated only: r_mag and b_mag [m]; the frozen decoder of the sparsity and auxiliary terms (null: own values). */
    double[] rMag;
    double[] bMag;
    double[] frozenWDec;
    double[] frozenBDec;

    ReferenceSae(Architecture arch, int dIn, int nLatents, int k, int kAux, boolean applyBDec,
                 double[] wEnc, double[] bEnc, double[] wDec, double[] bDec) {
        this(arch, dIn, nLatents, k, kAux, applyBDec, false, wEnc, bEnc, wDec, bDec);
    }

    /** tied: wEnc must be the very array wDec. */
    ReferenceSae(Architecture arch, int dIn, int nLatents, int k, int kAux, boolean applyBDec, boolean tied,
                 double[] wEnc, double[] bEnc, double[] wDec, double[] bDec) {
        if (tied && wEnc != wDec) {
            throw new IllegalArgumentException("a tied reference SAE shares one array");
        }
        this.tied = tied;
        this.arch = arch;
        this.dIn = dIn;
        this.nLatents = nLatents;
        this.k = k;
        this.kAux = kAux;
        this.applyBDec = applyBDec;
        this.wEnc = wEnc;
        this.bEnc = bEnc;
        this.wDec = wDec;
        this.bDec = bDec;
    }

    /** The SAE of {@code w} (SAELens orientation, W_enc [d, m] is transposed here), kAux from the config. */
    static ReferenceSae of(SaeWeights w) {
        SaeConfig c = w.config();
        int d = c.dIn();
        int m = c.nLatents();
        double[] we = new double[m * d];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < d; j++) {
                we[i * d + j] = w.wEnc().get((long) j * m + i);
            }
        }
        double[] wd = toDouble(w.wDec().toArray("test"));
        if (c.tied() && !Arrays.equals(we, wd)) {
            throw new IllegalArgumentException("tied weights need W_enc = W_dec^T");
        }
        ReferenceSae r = new ReferenceSae(c.arch(), d, m, c.k(), c.kAux(), c.applyBDecToInput(), c.tied(),
                c.tied() ? wd : we, toDouble(w.bEnc()), wd, toDouble(w.bDec()));
        if (c.arch() == Architecture.JUMPRELU) {
            float[] th = w.extras().get("threshold");
            r.logThreshold = new double[m];
            for (int i = 0; i < m; i++) {
                // The engine keeps log theta in fp32: the same rounding here.
                r.logThreshold[i] = (float) Math.log(th[i]);
            }
            r.bandwidth = (float) c.jumpReluBandwidth();
        }
        if (c.arch() == Architecture.MATRYOSHKA) {
            r.groupEnds = c.groupEnds();
        }
        if (c.arch() == Architecture.GATED) {
            r.rMag = toDouble(w.extras().get("r_mag"));
            r.bMag = toDouble(w.extras().get("b_mag"));
        }
        return r;
    }

    static double[] toDouble(float[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }

    /**
     * A copy whose parameters can be perturbed independently. Gated: the copy's frozen decoder is this SAE's
     * (frozen) decoder, so that perturbing the copy's W_dec or b_dec moves only the mse, as the gradients say.
     */
    ReferenceSae copy() {
        double[] wd = wDec.clone();
        ReferenceSae r = new ReferenceSae(arch, dIn, nLatents, k, kAux, applyBDec, tied, tied ? wd : wEnc.clone(),
                bEnc.clone(), wd, bDec.clone());
        r.logThreshold = logThreshold == null ? null : logThreshold.clone();
        r.bandwidth = bandwidth;
        r.groupEnds = groupEnds;
        if (arch == Architecture.GATED) {
            r.rMag = rMag.clone();
            r.bMag = bMag.clone();
            r.frozenWDec = frozenWDec != null ? frozenWDec : wDec.clone();
            r.frozenBDec = frozenBDec != null ? frozenBDec : bDec.clone();
        }
        return r;
    }

    /**
     * The parameter tensors, in a fixed order (wEnc, bEnc, wDec, bDec; gated adds rMag, bMag); tied: wEnc and wDec
     * are one array.
     */
    double[][] params() {
        return arch == Architecture.GATED ? new double[][] {wEnc, bEnc, wDec, bDec, rMag, bMag}
                : new double[][] {wEnc, bEnc, wDec, bDec};
    }

    /**
     * Loss terms, gradients (same order and layout as {@link #params()}), and the activation pattern:
     * pattern[b * m + i] = 0 not picked, 1 picked with pre <= 0, 2 picked and active; plus 3 times the same code
     * for the AuxK pick. Equal patterns mean the loss is one smooth piece.
     */
    record Result(double mse, double sparsity, double aux, double[][] grads, int[] pattern, double[] resid,
                  long active, double[] dLogThreshold) {
        double loss() {
            return mse + sparsity + aux;
        }
    }

    /**
     * Forward and backward on x [batch, dIn] with sparsity coefficient lambda (relu) and dead latents (topk;
     * null or none: no AuxK). {@code detachedResid} is the e that AuxK reconstructs; null: this forward's
     * x - x_hat (the training step). A finite-difference check passes the unperturbed e, since e is a constant.
     */
    Result run(double[] x, int batch, double lambda, boolean[] dead, double[] detachedResid) {
        int d = dIn;
        int m = nLatents;
        double[] xIn = new double[batch * d];
        double[] pre = new double[batch * m];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < d; j++) {
                xIn[b * d + j] = applyBDec ? x[b * d + j] - bDec[j] : x[b * d + j];
            }
            for (int i = 0; i < m; i++) {
                double s = bEnc[i];
                for (int j = 0; j < d; j++) {
                    s += xIn[b * d + j] * wEnc[i * d + j];
                }
                pre[b * m + i] = s;
            }
        }
        int[] pattern = new int[batch * m];
        double[] f = new double[batch * m];
        boolean[] all = new boolean[m];
        Arrays.fill(all, true);
        double[] theta = theta();
        double[] product = new double[batch * m]; // gated: x_in . W_gate_i, shared by both paths
        for (int b = 0; arch == Architecture.GATED && b < batch; b++) {
            for (int i = 0; i < m; i++) {
                int q = b * m + i;
                product[q] = pre[q] - bEnc[i];
                double mag = Math.exp(rMag[i]) * product[q] + bMag[i];
                f[q] = pre[q] > 0 ? Math.max(0, mag) : 0;
                pattern[q] = pre[q] > 0 ? (mag > 0 ? 2 : 1) : 0;
            }
        }
        boolean batchTopk = arch == Architecture.BATCHTOPK || arch == Architecture.MATRYOSHKA;
        for (int b = 0; !batchTopk && arch != Architecture.GATED && b < batch; b++) {
            int[] picks = arch == Architecture.TOPK ? topk(pre, b, k, all) : range(m);
            for (int i : picks) {
                double v = pre[b * m + i];
                boolean on = arch == Architecture.JUMPRELU ? v > theta[i] : v > 0;
                f[b * m + i] = on ? v : 0;
                pattern[b * m + i] = on ? 2 : 1;
            }
        }
        if (batchTopk) {
            int[] kept = java.util.stream.IntStream.range(0, batch * m).filter(q -> pre[q] > 0).boxed()
                    .sorted((p, q) -> Double.compare(pre[q], pre[p])).limit((long) k * batch)
                    .mapToInt(Integer::intValue).toArray();
            for (int q : kept) {
                f[q] = pre[q];
                pattern[q] = 2;
            }
        }
        double[] dWEnc = new double[m * d];
        double[] dBEnc = new double[m];
        double[] dWDec = new double[m * d];
        double[] dBDec = new double[d];
        double[] dpre = new double[batch * m];
        // mse through the decoder, once per prefix [0, ends[p]) (matryoshka; one prefix of every latent otherwise),
        // each prefix decoded from scratch. The last prefix is the full reconstruction: x_hat, g and mse are its.
        int[] ends = arch == Architecture.MATRYOSHKA ? groupEnds : new int[] {m};
        double[] xHat = null;
        double[] g = null;   // dL/dx_hat of the last prefix
        double mse = 0;
        double innerMse = 0;
        for (int p = 0; p < ends.length; p++) {
            xHat = new double[batch * d];
            g = new double[batch * d];
            double prefixMse = 0;
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < d; j++) {
                    double s = bDec[j];
                    for (int i = 0; i < ends[p]; i++) {
                        s += f[b * m + i] * wDec[i * d + j];
                    }
                    xHat[b * d + j] = s;
                    double e = s - x[b * d + j];
                    prefixMse += e * e / batch;
                    g[b * d + j] = 2 * e / batch;
                }
            }
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < ends[p]; i++) {
                    if (f[b * m + i] > 0) {
                        for (int j = 0; j < d; j++) {
                            dWDec[i * d + j] += f[b * m + i] * g[b * d + j];
                            dpre[b * m + i] += g[b * d + j] * wDec[i * d + j];
                        }
                    }
                }
                for (int j = 0; j < d; j++) {
                    dBDec[j] += g[b * d + j];
                }
            }
            if (p == ends.length - 1) {
                mse = prefixMse;
            } else {
                innerMse += prefixMse;
            }
        }
        long active = 0;
        for (int q = 0; q < batch * m; q++) {
            active += f[q] > 0 ? 1 : 0;
        }
        double[] resid = new double[batch * d];
        for (int q = 0; q < resid.length; q++) {
            resid[q] = x[q] - xHat[q];
        }
        double[] norms = new double[m];
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                s += wDec[i * d + j] * wDec[i * d + j];
            }
            norms[i] = Math.sqrt(s);
        }
        double sparsity = innerMse;   // matryoshka: the inner prefixes' terms (as the engine reports them)
        if (arch == Architecture.RELU_2023) {
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < m; i++) {
                    if (f[b * m + i] > 0) {
                        sparsity += lambda / batch * f[b * m + i];
                        dpre[b * m + i] += lambda / batch;
                    }
                }
            }
        }
        double[] dLogThreshold = null;
        if (arch == Architecture.JUMPRELU) {
            sparsity = lambda * active / batch;
            dLogThreshold = new double[m];
            double eps = bandwidth;
            for (int i = 0; i < m; i++) {
                double dTheta = 0;
                for (int b = 0; b < batch; b++) {
                    if (Math.abs(pre[b * m + i] - theta[i]) < eps / 2) {
                        double dLdf = 0;
                        for (int j = 0; j < d; j++) {
                            dLdf += g[b * d + j] * wDec[i * d + j];
                        }
                        dTheta += -(theta[i] / eps) * dLdf - lambda / (batch * eps);
                    }
                }
                dLogThreshold[i] = theta[i] * dTheta;
            }
        }
        if (arch == Architecture.RELU) {
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < m; i++) {
                    if (f[b * m + i] > 0) {
                        sparsity += lambda / batch * f[b * m + i] * norms[i];
                        dpre[b * m + i] += lambda / batch * norms[i];
                        for (int j = 0; j < d; j++) {
                            dWDec[i * d + j] += lambda / batch * f[b * m + i] * wDec[i * d + j] / norms[i];
                        }
                    }
                }
            }
        }
        double aux = 0;
        double[] dBGate = null;
        double[] dRMag = null;
        double[] dBMag = null;
        if (arch == Architecture.GATED) {
            // dpre so far is dL/dpi_mag (the mse through f, where f > 0). The gate gets the sparsity and aux terms.
            double[] wd = frozenWDec != null ? frozenWDec : wDec;
            double[] bd = frozenBDec != null ? frozenBDec : bDec;
            dBGate = new double[m];
            dRMag = new double[m];
            dBMag = new double[m];
            double[] frozenNorms = new double[m];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < d; j++) {
                    frozenNorms[i] += wd[i * d + j] * wd[i * d + j];
                }
                frozenNorms[i] = Math.sqrt(frozenNorms[i]);
            }
            for (int b = 0; b < batch; b++) {
                double[] ga = new double[d];
                for (int j = 0; j < d; j++) {
                    double s = bd[j];
                    for (int i = 0; i < m; i++) {
                        s += Math.max(0, pre[b * m + i]) * wd[i * d + j];
                    }
                    double r = s - x[b * d + j];
                    aux += r * r / batch;
                    ga[j] = 2 * r / batch;
                }
                for (int i = 0; i < m; i++) {
                    int q = b * m + i;
                    double gm = dpre[q];
                    double scale = Math.exp(rMag[i]);
                    dBMag[i] += gm;
                    dRMag[i] += gm * scale * product[q];
                    double dg = 0;
                    if (pre[q] > 0) {
                        sparsity += lambda / batch * pre[q] * frozenNorms[i];
                        dg = lambda / batch * frozenNorms[i];
                        for (int j = 0; j < d; j++) {
                            dg += ga[j] * wd[i * d + j];
                        }
                    }
                    dBGate[i] += dg;
                    dpre[q] = dg + scale * gm;
                }
            }
        }
        int nDead = 0;
        for (int i = 0; dead != null && i < m; i++) {
            nDead += dead[i] ? 1 : 0;
        }
        if ((arch == Architecture.TOPK || batchTopk) && nDead > 0) {
            double[] e = detachedResid == null ? resid : detachedResid;
            double denom = 0;
            for (int j = 0; j < d; j++) {
                double mean = 0;
                for (int b = 0; b < batch; b++) {
                    mean += e[b * d + j] / batch;
                }
                for (int b = 0; b < batch; b++) {
                    denom += (e[b * d + j] - mean) * (e[b * d + j] - mean);
                }
            }
            if (denom > 0) {
                double[] a = new double[batch * m];
                for (int b = 0; b < batch; b++) {
                    for (int i : topk(pre, b, Math.min(kAux, nDead), dead)) {
                        a[b * m + i] = Math.max(0, pre[b * m + i]);
                        pattern[b * m + i] += 3 * (pre[b * m + i] > 0 ? 2 : 1);
                    }
                }
                for (int b = 0; b < batch; b++) {
                    for (int j = 0; j < d; j++) {
                        double eHat = 0;
                        for (int i = 0; i < m; i++) {
                            eHat += a[b * m + i] * wDec[i * d + j];
                        }
                        double r = eHat - e[b * d + j];
                        aux += r * r / denom / 32;
                        double ga = 2 * r / denom / 32;
                        for (int i = 0; i < m; i++) {
                            if (a[b * m + i] > 0) {
                                dWDec[i * d + j] += a[b * m + i] * ga;
                                dpre[b * m + i] += ga * wDec[i * d + j];
                            }
                        }
                    }
                }
            }
        }
        // encoder
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < m; i++) {
                dBEnc[i] += dpre[b * m + i];
                for (int j = 0; j < d; j++) {
                    dWEnc[i * d + j] += dpre[b * m + i] * xIn[b * d + j];
                }
            }
        }
        if (applyBDec) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < d; j++) {
                    dBDec[j] -= dBEnc[i] * wEnc[i * d + j];
                }
            }
        }
        if (arch == Architecture.GATED) {
            // The encoder loop summed dL/d(x_in . W_gate_i) into dBEnc, which is b_dec's part above; b_gate's is the gate's.
            return new Result(mse, sparsity, aux, new double[][] {dWEnc, dBGate, dWDec, dBDec, dRMag, dBMag}, pattern,
                    resid, active, null);
        }
        if (tied) {
            for (int q = 0; q < dWDec.length; q++) {
                dWDec[q] += dWEnc[q];
            }
            dWEnc = dWDec;
        }
        return new Result(mse, sparsity, aux, new double[][] {dWEnc, dBEnc, dWDec, dBDec}, pattern, resid, active,
                dLogThreshold);
    }

    /** theta = exp(logThreshold) (jumprelu), else null. */
    private double[] theta() {
        if (logThreshold == null) {
            return null;
        }
        double[] t = new double[nLatents];
        for (int i = 0; i < nLatents; i++) {
            t[i] = Math.exp(logThreshold[i]);
        }
        return t;
    }

    /**
     * jumprelu: a loss whose true derivative in log theta, at logThresholdAt = this SAE's log theta, is the
     * straight-through pseudo-gradient: the activation pattern H is frozen at this SAE's theta, and in its place
     * each f_bi moves by theta_i (S(u') - S(u)) and each L0 count by S(u') - S(u), with u = (pre_bi - theta_i)/eps,
     * u' the same at theta' = exp(logThresholdAt), and S(u) = clamp(u + 1/2, 0, 1) the ramp whose slope is the
     * rectangle kernel. Used to check {@link Result#dLogThreshold} by finite differences.
     */
    double jumpReluSurrogateLoss(double[] x, int batch, double lambda, double[] logThresholdAt) {
        int d = dIn;
        int m = nLatents;
        double[] theta = theta();
        double loss = 0;
        for (int b = 0; b < batch; b++) {
            double[] pre = new double[m];
            for (int i = 0; i < m; i++) {
                double s = bEnc[i];
                for (int j = 0; j < d; j++) {
                    s += ((applyBDec ? x[b * d + j] - bDec[j] : x[b * d + j])) * wEnc[i * d + j];
                }
                pre[i] = s;
            }
            double[] xHat = bDec.clone();
            for (int i = 0; i < m; i++) {
                double h = pre[i] > theta[i] ? 1 : 0;
                double ramp = ramp((pre[i] - Math.exp(logThresholdAt[i])) / bandwidth) - ramp((pre[i] - theta[i]) / bandwidth);
                double fi = pre[i] * h + theta[i] * ramp;
                loss += lambda / batch * (h + ramp);
                for (int j = 0; j < d; j++) {
                    xHat[j] += fi * wDec[i * d + j];
                }
            }
            for (int j = 0; j < d; j++) {
                loss += (xHat[j] - x[b * d + j]) * (xHat[j] - x[b * d + j]) / batch;
            }
        }
        return loss;
    }

    private static double ramp(double u) {
        return Math.max(0, Math.min(1, u + 0.5));
    }

    /** Indices of the n largest pre[b, i] over latents with allowed[i], ties to the lower index. */
    private int[] topk(double[] pre, int b, int n, boolean[] allowed) {
        int m = nLatents;
        return java.util.stream.IntStream.range(0, m).filter(i -> allowed[i]).boxed()
                .sorted((p, q) -> Double.compare(pre[b * m + q], pre[b * m + p]))
                .limit(n).mapToInt(Integer::intValue).toArray();
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    /** The unit-norm decoder's gradient: each row minus its component along the (unit) weight row. */
    static double[] projectUnitNorm(double[] dWDec, double[] wDec, int rows, int cols) {
        double[] out = dWDec.clone();
        for (int i = 0; i < rows; i++) {
            double dot = 0;
            for (int j = 0; j < cols; j++) {
                dot += dWDec[i * cols + j] * wDec[i * cols + j];
            }
            for (int j = 0; j < cols; j++) {
                out[i * cols + j] -= dot * wDec[i * cols + j];
            }
        }
        return out;
    }
}
