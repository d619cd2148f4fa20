package dev.saetrain.analysis;

import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.io.HostMatrix;
import dev.saetrain.model.SaeWeights;

/**
 * The host encoder: encodes raw activation rows with a loaded dictionary ({@link SaeWeights}), one row at a time, as
 * SAELens runs the exported dictionary: pre = (x - b_dec) W_enc + b_enc (without "- b_dec" when apply_b_dec_to_input
 * is off), then the architecture's inference activation, in double: topk keeps the k largest (ties: lower latent
 * index) and ReLUs them; relu and relu-2023 are ReLU; batchtopk, jumprelu and matryoshka keep pre where
 * pre > threshold and pre > 0; gated: f = 1[pre > 0] relu(x_in (W_enc exp(r_mag)) + b_mag), with b_gate as b_enc.
 * W_enc is transposed once to [nLatents, dIn] so each pre-activation is one contiguous dot product, and TopK is a
 * k-slot insertion rather than a full sort. Thread-safe: instances hold only read-only weights; each caller passes
 * its own {@link Scratch}.
 */
public final class SaeEncoder {
    private final SaeConfig cfg;
    private final int d;
    private final int m;
    /** [nLatents, dIn]: W_enc transposed. */
    private final HostMatrix wEncT; // [m, d]: W_enc transposed, a latent's weights contiguous
    private final float[] bEnc;
    /** [nLatents, dIn]. */
    private final HostMatrix wDec; // [m, d]
    private final float[] bDec;
    /** jumprelu / batchtopk / matryoshka threshold [nLatents], or null. */
    private final float[] threshold;
    /** gated: exp(r_mag) [nLatents] and b_mag [nLatents], or null. */
    private final double[] magScale;
    private final float[] bMag;

    /** Per-thread working arrays. */
    public static final class Scratch {
        final double[] xin;
        final double[] pre;
        final double[] topVal;
        final int[] topIdx;
        /** Indices of the active latents of the last row, [count]. */
        public final int[] idx;
        /** Their activations. */
        public final double[] val;

        Scratch(int d, int m, int k) {
            xin = new double[d];
            pre = new double[m];
            topVal = new double[Math.max(k, 1)];
            topIdx = new int[Math.max(k, 1)];
            idx = new int[m];
            val = new double[m];
        }
    }

    /**
     * Sparse codes of {@code rows} rows in CSR form, from {@link #encode(float[], int)} or built by the synthetic
     * generator.
     *
     * @param rowPtr [rows + 1] offsets into idx / val
     * @param idx    latent ids, ascending within a row
     * @param val    activations, all &gt; 0
     */
    public record Codes(int rows, int[] rowPtr, int[] idx, float[] val) {
        /** Active latents of row {@code r}. */
        public int l0(int r) {
            return rowPtr[r + 1] - rowPtr[r];
        }
    }

    public SaeEncoder(SaeWeights w) {
        this.cfg = w.config();
        this.d = cfg.dIn();
        this.m = cfg.nLatents();
        this.wEncT = w.wEnc().transpose();
        this.bEnc = w.bEnc();
        this.wDec = w.wDec();
        this.bDec = w.bDec();
        this.threshold = w.extras().get("threshold");
        Architecture a = cfg.arch();
        if ((a == Architecture.JUMPRELU || a == Architecture.BATCHTOPK || a == Architecture.MATRYOSHKA)
                && threshold == null) {
            throw new IllegalArgumentException(a.cliName() + " needs a threshold per latent");
        }
        if (a == Architecture.GATED) {
            float[] rMag = w.extras().get("r_mag");
            bMag = w.extras().get("b_mag");
            if (rMag == null || bMag == null) {
                throw new IllegalArgumentException("a gated SAE needs b_mag and r_mag");
            }
            magScale = new double[m];
            for (int i = 0; i < m; i++) {
                magScale[i] = Math.exp(rMag[i]);
            }
        } else {
            magScale = null;
            bMag = null;
        }
    }

    public SaeConfig config() {
        return cfg;
    }

    /** Working arrays for one thread. */
    public Scratch scratch() {
        return new Scratch(d, m, cfg.arch() == Architecture.TOPK ? cfg.k() : 0);
    }

    /**
     * Encodes {@code x[off, off + dIn)}; the active latents (f != 0) land in {@code s.idx} / {@code s.val} in
     * increasing latent order. Returns their count.
     */
    public int encode(float[] x, int off, Scratch s) {
        for (int j = 0; j < d; j++) {
            s.xin[j] = cfg.applyBDecToInput() ? x[off + j] - bDec[j] : x[off + j];
        }
        for (int i = 0; i < m; i++) {
            float[] we = wEncT.page(i);
            int base = wEncT.offset(i);
            double a0 = 0;
            double a1 = 0;
            double a2 = 0;
            double a3 = 0;
            int j = 0;
            for (; j + 4 <= d; j += 4) {
                a0 += s.xin[j] * we[base + j];
                a1 += s.xin[j + 1] * we[base + j + 1];
                a2 += s.xin[j + 2] * we[base + j + 2];
                a3 += s.xin[j + 3] * we[base + j + 3];
            }
            for (; j < d; j++) {
                a0 += s.xin[j] * we[base + j];
            }
            s.pre[i] = (a0 + a1) + (a2 + a3);
        }
        int n = 0;
        switch (cfg.arch()) {
            case RELU, RELU_2023 -> {
                for (int i = 0; i < m; i++) {
                    double p = s.pre[i] + bEnc[i];
                    if (p > 0) {
                        s.idx[n] = i;
                        s.val[n++] = p;
                    }
                }
            }
            case BATCHTOPK, JUMPRELU, MATRYOSHKA -> {
                for (int i = 0; i < m; i++) {
                    double p = s.pre[i] + bEnc[i];
                    if (p > threshold[i] && p > 0) {
                        s.idx[n] = i;
                        s.val[n++] = p;
                    }
                }
            }
            case GATED -> {
                for (int i = 0; i < m; i++) {
                    if (s.pre[i] + bEnc[i] > 0) {
                        double mag = magScale[i] * s.pre[i] + bMag[i];
                        if (mag > 0) {
                            s.idx[n] = i;
                            s.val[n++] = mag;
                        }
                    }
                }
            }
            case TOPK -> n = topk(s);
        }
        return n;
    }

    /** The k largest pre-activations (ties: lower index), ReLU'd, listed in increasing latent order. */
    private int topk(Scratch s) {
        int k = Math.min(cfg.k(), m);
        int filled = 0;
        // topVal/topIdx sorted by decreasing value; a later index never displaces an equal value.
        for (int i = 0; i < m; i++) {
            double p = s.pre[i] + bEnc[i];
            if (filled == k && !(p > s.topVal[k - 1])) {
                continue;
            }
            int pos = filled == k ? k - 1 : filled++;
            while (pos > 0 && p > s.topVal[pos - 1]) {
                s.topVal[pos] = s.topVal[pos - 1];
                s.topIdx[pos] = s.topIdx[pos - 1];
                pos--;
            }
            s.topVal[pos] = p;
            s.topIdx[pos] = i;
        }
        int n = 0;
        for (int r = 0; r < filled; r++) {
            if (s.topVal[r] > 0) {
                s.idx[n] = s.topIdx[r];
                s.val[n++] = s.topVal[r];
            }
        }
        // Increasing latent order, like the other architectures (insertion sort: n <= k is small).
        for (int a = 1; a < n; a++) {
            int ia = s.idx[a];
            double va = s.val[a];
            int b = a - 1;
            while (b >= 0 && s.idx[b] > ia) {
                s.idx[b + 1] = s.idx[b];
                s.val[b + 1] = s.val[b];
                b--;
            }
            s.idx[b + 1] = ia;
            s.val[b + 1] = va;
        }
        return n;
    }

    /** The codes of {@code rows} raw rows {@code x[0 .. rows * dIn)}, one {@link #encode(float[], int, Scratch)} each. */
    public Codes encode(float[] x, int rows) {
        Scratch s = scratch();
        int[] rowPtr = new int[rows + 1];
        IntList idx = new IntList();
        FloatList val = new FloatList();
        for (int r = 0; r < rows; r++) {
            int n = encode(x, r * d, s);
            for (int e = 0; e < n; e++) {
                idx.add(s.idx[e]);
                val.add((float) s.val[e]);
            }
            rowPtr[r + 1] = idx.size;
        }
        return new Codes(rows, rowPtr, idx.toArray(), val.toArray());
    }

    /** x_hat = f W_dec + b_dec [dIn] for the {@code n} active latents in {@code s}. */
    public void decode(Scratch s, int n, double[] xHat) {
        for (int j = 0; j < d; j++) {
            xHat[j] = bDec[j];
        }
        for (int r = 0; r < n; r++) {
            float[] wd = wDec.page(s.idx[r]);
            int base = wDec.offset(s.idx[r]);
            double f = s.val[r];
            for (int j = 0; j < d; j++) {
                xHat[j] += f * wd[base + j];
            }
        }
    }

    /** A growable int array, for building {@link Codes}. */
    static final class IntList {
        int[] a = new int[1024];
        int size;

        void add(int v) {
            if (size == a.length) {
                a = java.util.Arrays.copyOf(a, a.length * 2);
            }
            a[size++] = v;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, size);
        }
    }

    /** A growable float array, for building {@link Codes}. */
    static final class FloatList {
        float[] a = new float[1024];
        int size;

        void add(float v) {
            if (size == a.length) {
                a = java.util.Arrays.copyOf(a, a.length * 2);
            }
            a[size++] = v;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(a, size);
        }
    }
}
