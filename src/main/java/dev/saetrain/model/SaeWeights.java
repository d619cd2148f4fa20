package dev.saetrain.model;

/**
 * The parameters of one SAE on the host, in SAELens orientation, fp32, C order. Arrays are not copied.
 *
 * @param config the SAE's config
 * @param wEnc   [dIn, nLatents]
 * @param bEnc   [nLatents]
 * @param wDec   [nLatents, dIn]
 * @param bDec   [dIn]
 * @param extras tensors some architectures add, by their SAELens names, each [nLatents] (jumprelu
 *               {@code threshold}; gated {@code b_gate}, {@code b_mag}, {@code r_mag}); they act on
 *               pre-activations, which folding the input scale leaves unchanged, so folding keeps them as they are
 */
public record SaeWeights(SaeConfig config, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec,
                         java.util.Map<String, float[]> extras) {
    public SaeWeights {
        int d = config.dIn();
        int m = config.nLatents();
        check("W_enc", wEnc, (long) d * m);
        check("b_enc", bEnc, m);
        check("W_dec", wDec, (long) m * d);
        check("b_dec", bDec, d);
        extras = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(extras));
        for (var e : extras.entrySet()) {
            if (java.util.Set.of("W_enc", "b_enc", "W_dec", "b_dec").contains(e.getKey())) {
                throw new IllegalArgumentException("extra tensor " + e.getKey() + " shadows a base parameter");
            }
            check(e.getKey(), e.getValue(), m);
        }
    }

    /** Weights with no extra tensors (topk, relu). */
    public SaeWeights(SaeConfig config, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec) {
        this(config, wEnc, bEnc, wDec, bDec, java.util.Map.of());
    }

    private static void check(String name, float[] a, long n) {
        if (a == null || a.length != n) {
            throw new IllegalArgumentException(name + " needs " + n + " elements, got " + (a == null ? "null" : a.length));
        }
    }

    /**
     * The same SAE for raw inputs when it was trained on inputs scaled by {@code c} (x_train = c * x_raw):
     * W_enc * c, W_dec / c, b_dec / c; b_enc unchanged. Then encode(x_raw) equals encode(x_train) and
     * decode gives x_hat_train / c. The result is a new object with new arrays.
     */
    public SaeWeights foldScale(double c) {
        float fc = (float) c;
        float[] we = wEnc.clone();
        for (int i = 0; i < we.length; i++) {
            we[i] *= fc;
        }
        float[] wd = wDec.clone();
        for (int i = 0; i < wd.length; i++) {
            wd[i] = (float) (wd[i] / c);
        }
        float[] bd = bDec.clone();
        for (int i = 0; i < bd.length; i++) {
            bd[i] = (float) (bd[i] / c);
        }
        return new SaeWeights(config, we, bEnc.clone(), wd, bd, extras);
    }

    /**
     * Plain forward pass on one raw row x [dIn] into xHat [dIn] (reference; not fast); batchtopk and jumprelu
     * use the {@code threshold} extra ({@link Activations#apply(SaeConfig, double[], float[])}).
     * Used by export tests and analyses. Returns the number of active latents.
     */
    public int reconstruct(float[] x, float[] xHat) {
        int d = config.dIn();
        int m = config.nLatents();
        double[] pre = new double[m];
        for (int i = 0; i < m; i++) {
            double s = bEnc[i];
            for (int j = 0; j < d; j++) {
                double xin = config.applyBDecToInput() ? x[j] - bDec[j] : x[j];
                s += xin * wEnc[j * m + i];
            }
            pre[i] = s;
        }
        double[] f = Activations.apply(config, pre, extras.get("threshold"));
        double[] out = new double[d];
        for (int j = 0; j < d; j++) {
            out[j] = bDec[j];
        }
        int l0 = 0;
        for (int i = 0; i < m; i++) {
            if (f[i] != 0) {
                l0++;
                for (int j = 0; j < d; j++) {
                    out[j] += f[i] * wDec[i * d + j];
                }
            }
        }
        for (int j = 0; j < d; j++) {
            xHat[j] = (float) out[j];
        }
        return l0;
    }
}
