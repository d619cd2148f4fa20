package dev.saetrain.model;

import dev.saetrain.io.HostMatrix;

/**
 * The parameters of one SAE on the host, in SAELens orientation, fp32, C order. Arrays are not copied. The matrices
 * are {@link HostMatrix}es (paged), so d_in * n_latents may pass a Java array's 2^31 - 1 elements.
 *
 * @param config the SAE's config
 * @param wEnc   [dIn, nLatents]
 * @param bEnc   [nLatents], the bias of the encoder product; for gated this is b_gate (SAELens's gated SAE has no
 *               b_enc: the export writes it as {@code b_gate}, see {@link Architecture#encoderBiasName()})
 * @param wDec   [nLatents, dIn]
 * @param bDec   [dIn]
 * @param extras tensors some architectures add, by their SAELens names, each [nLatents] (jumprelu
 *               {@code threshold}; gated {@code b_mag}, {@code r_mag}); see {@link #foldScale} for how folding
 *               the input scale treats each
 */
public record SaeWeights(SaeConfig config, HostMatrix wEnc, float[] bEnc, HostMatrix wDec, float[] bDec,
                         java.util.Map<String, float[]> extras) {
    public SaeWeights {
        int d = config.dIn();
        int m = config.nLatents();
        check("W_enc", wEnc, d, m);
        check("b_enc", bEnc, m);
        check("W_dec", wDec, m, d);
        check("b_dec", bDec, d);
        extras = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(extras));
        for (var e : extras.entrySet()) {
            if (java.util.List.of("W_enc", "b_enc", "W_dec", "b_dec", config.arch().encoderBiasName()).contains(e.getKey())) {
                throw new IllegalArgumentException("extra tensor " + e.getKey() + " shadows a base parameter");
            }
            check(e.getKey(), e.getValue(), m);
        }
    }

    /** Weights with no extra tensors (topk, relu). */
    public SaeWeights(SaeConfig config, HostMatrix wEnc, float[] bEnc, HostMatrix wDec, float[] bDec) {
        this(config, wEnc, bEnc, wDec, bDec, java.util.Map.of());
    }

    /** Weights over whole arrays (small SAEs, tests): W_enc [dIn, nLatents] and W_dec [nLatents, dIn] wrapped. */
    public static SaeWeights of(SaeConfig config, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec,
                                java.util.Map<String, float[]> extras) {
        int d = config.dIn();
        int m = config.nLatents();
        return new SaeWeights(config, HostMatrix.wrap(wEnc, d, m), bEnc, HostMatrix.wrap(wDec, m, d), bDec, extras);
    }

    /** {@link #of} with no extra tensors. */
    public static SaeWeights of(SaeConfig config, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec) {
        return of(config, wEnc, bEnc, wDec, bDec, java.util.Map.of());
    }

    private static void check(String name, HostMatrix a, int rows, int cols) {
        if (a == null || a.rows() != rows || a.cols() != cols) {
            throw new IllegalArgumentException(name + " needs shape [" + rows + ", " + cols + "], got "
                    + (a == null ? "null" : "[" + a.rows() + ", " + a.cols() + "]"));
        }
    }

    private static void check(String name, float[] a, long n) {
        if (a == null || a.length != n) {
            throw new IllegalArgumentException(name + " needs " + n + " elements, got " + (a == null ? "null" : a.length));
        }
    }

    /**
     * The same SAE for raw inputs when it was trained on inputs scaled by {@code c} (x_train = c * x_raw), with the
     * decoder (and encoder) matrices exactly as trained: every bias and threshold is divided by c, nothing else.
     *
     * <p>Why not W_enc * c, W_dec / c: an architecture trained with unit-norm decoder rows (topk, relu-2023,
     * batchtopk, matryoshka, tied) would be exported with rows of norm 1 / c, and a tool that keeps training the
     * export and renormalises rows (sparsify's {@code normalize_decoder}, SAELens's unit-norm trainers) would
     * silently undo the scale. The algebra, for trained weights (W_enc, b_enc, W_dec, b_dec, theta) and
     * pre = (c x - b_dec) W_enc + b_enc:
     * <pre>
     *   pre'  = (x - b_dec / c) W_enc + b_enc / c               = pre / c
     *   f'    = act'(pre')                                      = act(pre) / c   (see below)
     *   xHat' = f' W_dec + b_dec / c  = (f W_dec + b_dec) / c   = xHat_train / c
     * </pre>
     * act(pre / c) = act(pre) / c holds because every activation here is positively homogeneous once its threshold
     * moves with it: ReLU, TopK (ranking is unchanged by a positive factor), JumpReLU with theta' = theta / c
     * (pre / c > theta / c iff pre > theta), gated with b_gate' = b_gate / c (the gate's sign is unchanged) and
     * b_mag' = b_mag / c (r_mag multiplies W_enc, which is unchanged). So the latents fire on the same rows and their
     * values are the trained ones divided by c: only their unit changes. The result is a new object with new arrays.
     */
    public SaeWeights foldScale(double c) {
        java.util.Map<String, float[]> copies = new java.util.LinkedHashMap<>();
        extras.forEach((name, v) -> copies.put(name, v.clone()));
        return new SaeWeights(config, wEnc.copy(), bEnc.clone(), wDec.copy(), bDec.clone(), copies)
                .foldScaleInPlace(c);
    }

    /** The extras that are in the units of pre-activations and so are divided by c when folding; r_mag is a log-gain. */
    private static final java.util.Set<String> PRE_UNIT_EXTRAS = java.util.Set.of("threshold", "b_mag");

    /**
     * {@link #foldScale} on this object's own arrays (no copies: for weights just downloaded, whose arrays nobody
     * else holds). W_enc and W_dec are not touched. Returns this.
     */
    public SaeWeights foldScaleInPlace(double c) {
        if (!(c > 0) || !Double.isFinite(c)) {
            throw new IllegalArgumentException("the input scale must be finite and > 0, got " + c);
        }
        divide(bEnc, c);
        divide(bDec, c);
        for (var e : extras.entrySet()) {
            if (PRE_UNIT_EXTRAS.contains(e.getKey())) {
                divide(e.getValue(), c);
            } else if (!e.getKey().equals("r_mag")) {
                throw new IllegalStateException("no folding rule for the extra tensor " + e.getKey());
            }
        }
        return this;
    }

    private static void divide(float[] a, double c) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (a[i] / c);
        }
    }

    /**
     * Whether every decoder row has L2 norm 1 within {@code tol} (relative): what a config may promise as a
     * unit-norm decoder ({@code normalize_decoder}).
     */
    public boolean decoderRowsUnitNorm(double tol) {
        int d = config.dIn();
        for (int i = 0; i < config.nLatents(); i++) {
            float[] row = wDec.page(i);
            int o = wDec.offset(i);
            double s = 0;
            for (int j = 0; j < d; j++) {
                double v = row[o + j];
                s += v * v;
            }
            if (Math.abs(Math.sqrt(s) - 1) > tol) {
                return false;
            }
        }
        return true;
    }
}
