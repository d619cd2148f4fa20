package dev.saetrain.model;

/**
 * The parameters of one SAE on the host, in SAELens orientation, fp32, C order. Arrays are not copied.
 *
 * @param config the SAE's config
 * @param wEnc   [dIn, nLatents]
 * @param bEnc   [nLatents], the bias of the encoder product; for gated this is b_gate (SAELens's gated SAE has no
 *               b_enc: the export writes it as {@code b_gate}, see {@link Architecture#encoderBiasName()})
 * @param wDec   [nLatents, dIn]
 * @param bDec   [dIn]
 * @param extras tensors some architectures add, by their SAELens names, each [nLatents] (jumprelu
 *               {@code threshold}; gated {@code b_mag}, {@code r_mag}); they act on
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
            if (java.util.List.of("W_enc", "b_enc", "W_dec", "b_dec", config.arch().encoderBiasName()).contains(e.getKey())) {
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
        return new SaeWeights(config, wEnc.clone(), bEnc.clone(), wDec.clone(), bDec.clone(), extras)
                .foldScaleInPlace(c);
    }

    /**
     * {@link #foldScale} on this object's own arrays (no copies: for weights just downloaded, whose arrays nobody
     * else holds; the export of a large SAE then needs one host copy of each matrix). Returns this.
     */
    public SaeWeights foldScaleInPlace(double c) {
        float fc = (float) c;
        for (int i = 0; i < wEnc.length; i++) {
            wEnc[i] *= fc;
        }
        for (int i = 0; i < wDec.length; i++) {
            wDec[i] = (float) (wDec[i] / c);
        }
        for (int i = 0; i < bDec.length; i++) {
            bDec[i] = (float) (bDec[i] / c);
        }
        return this;
    }

    /**
     * Plain forward pass on one raw row x [dIn] into xHat [dIn] (reference; not fast); batchtopk and jumprelu
     * use the {@code threshold} extra ({@link Activations#apply(SaeConfig, double[], float[])}); gated computes
     * pi_gate = x_in W_enc + b_gate and pi_mag = x_in (W_enc * exp(r_mag)) + b_mag ({@link Activations#gated}).
     * Used by export tests and analyses. Returns the number of active latents.
     */
    public int reconstruct(float[] x, float[] xHat) {
        int d = config.dIn();
        int m = config.nLatents();
        double[] pre = new double[m];
        double[] product = new double[m];
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                double xin = config.applyBDecToInput() ? x[j] - bDec[j] : x[j];
                s += xin * wEnc[j * m + i];
            }
            product[i] = s;
            pre[i] = s + bEnc[i];
        }
        double[] f;
        if (config.arch() == Architecture.GATED) {
            float[] bMag = extras.get("b_mag");
            float[] rMag = extras.get("r_mag");
            if (bMag == null || rMag == null) {
                throw new IllegalArgumentException("a gated SAE needs the extras b_mag and r_mag, got " + extras.keySet());
            }
            double[] mag = new double[m];
            for (int i = 0; i < m; i++) {
                mag[i] = Math.exp(rMag[i]) * product[i] + bMag[i];
            }
            f = Activations.gated(pre, mag);
        } else {
            f = Activations.apply(config, pre, extras.get("threshold"));
        }
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
