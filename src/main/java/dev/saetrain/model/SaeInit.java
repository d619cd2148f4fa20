package dev.saetrain.model;

import dev.saetrain.io.HostMatrix;

/**
 * Initial parameters. Decoder rows are random Gaussian directions from Philox stream {@link #STREAM_W_DEC}:
 * unit norm where rows are held at unit norm (topk, Gao et al. 2024, section 2.4; batchtopk, Bussmann et al.
 * 2024 follow it; relu-2023 and tied SAEs), norm 0.1 for relu (Anthropic, April 2024 update) and jumprelu (rows
 * of fixed norm with W_enc = W_dec^T and b_enc = 0, Rajamanoharan et al. 2024; 0.1 as SAELens's JumpReLU
 * trainer), and the encoder starts as the decoder's transpose in every recipe; b_enc = 0; b_dec is given (the
 * geometric median of the first rows, Towards Monosemanticity / Gao et al. 2024). Threshold architectures also
 * get {@code threshold} [nLatents]: jumprelu theta = 0.001 in the paper's units
 * ({@link SaeConfig#jumpReluBandwidth()} in ours); batchtopk 0, "no estimate yet" (estimated while training).
 * Gated (Rajamanoharan et al. 2024; SAELens's {@code _init_weights_gated}): W_gate (W_enc) = W_dec^T with rows of
 * norm 0.1 as relu (its loss weighs the penalty by decoder norms, so rows are not held at unit norm), b_gate (b_enc)
 * = 0, and extras {@code b_mag} = 0 and {@code r_mag} = 0, so that W_mag = W_gate and pi_mag = pi_gate at the start.
 */
public final class SaeInit {
    /** Philox stream of the decoder directions. */
    public static final long STREAM_W_DEC = 1;

    private SaeInit() {
    }

    /** Decoder init norm of one row for this config: 1 where rows are held at unit norm, else 0.1 (relu). */
    public static double decoderNorm(SaeConfig cfg) {
        return cfg.unitNormDecoder() ? 1.0 : 0.1;
    }

    /**
     * Initial weights (SAELens orientation) for {@code cfg} from {@code seed}, with b_dec = {@code bDec}. Decoder row
     * i is elements [i d, (i + 1) d) of the one Philox sequence, drawn and normalised on its own, so the rows are
     * drawn in parallel and the weights are the same whatever the threads or the host matrix's pages (no matrix is
     * ever one array: d_in * n_latents may pass 2^31).
     */
    public static SaeWeights initial(SaeConfig cfg, long seed, float[] bDec) {
        int d = cfg.dIn();
        int m = cfg.nLatents();
        HostMatrix wDec = new HostMatrix(m, d);
        double target = decoderNorm(cfg);
        java.util.stream.IntStream.range(0, m).parallel().forEach(i -> {
            float[] row = wDec.page(i);
            int o = wDec.offset(i);
            Philox.fillNormal(seed, STREAM_W_DEC, (long) i * d, row, o, d);
            double s = 0;
            for (int j = 0; j < d; j++) {
                s += (double) row[o + j] * row[o + j];
            }
            double f = target / Math.sqrt(s);
            for (int j = 0; j < d; j++) {
                row[o + j] = (float) (row[o + j] * f);
            }
        });
        HostMatrix wEnc = wDec.transpose();
        if (cfg.arch().exportsThreshold()) {
            float[] threshold = new float[m];
            if (cfg.arch() == Architecture.JUMPRELU) {
                java.util.Arrays.fill(threshold, (float) cfg.jumpReluBandwidth());
            }
            return new SaeWeights(cfg, wEnc, new float[m], wDec, bDec.clone(), java.util.Map.of("threshold", threshold));
        }
        if (cfg.arch() == Architecture.GATED) {
            return new SaeWeights(cfg, wEnc, new float[m], wDec, bDec.clone(),
                    java.util.Map.of("b_mag", new float[m], "r_mag", new float[m]));
        }
        return new SaeWeights(cfg, wEnc, new float[m], wDec, bDec.clone());
    }
}
