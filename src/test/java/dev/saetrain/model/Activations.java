package dev.saetrain.model;

import java.util.Arrays;

/** Plain per-row activation functions in their inference form: a reference for tests, which compute losses with it. */
public final class Activations {
    private Activations() {
    }

    /** f = act(pre) for one row of an architecture without a threshold; see the three-argument form. */
    public static double[] apply(SaeConfig cfg, double[] pre) {
        return apply(cfg, pre, null);
    }

    /**
     * f = act(pre) for one row: topk keeps the k largest (ties: lower index first) and ReLUs them; relu is ReLU;
     * batchtopk, jumprelu and matryoshka use their inference form, f_i = pre_i * 1[pre_i > threshold_i] (JumpReLU,
     * Rajamanoharan et al. 2024; BatchTopK at inference, Bussmann et al. 2024; Matryoshka BatchTopK, Bussmann et al.
     * 2025), also zero where pre_i <= 0 as SAELens's JumpReLU applies ReLU first.
     *
     * @param threshold [nLatents], required by batchtopk, jumprelu and matryoshka, ignored otherwise
     */
    public static double[] apply(SaeConfig cfg, double[] pre, float[] threshold) {
        double[] f = new double[pre.length];
        switch (cfg.arch()) {
            case RELU, RELU_2023 -> {
                for (int i = 0; i < pre.length; i++) {
                    f[i] = Math.max(0, pre[i]);
                }
            }
            case TOPK -> {
                Integer[] order = new Integer[pre.length];
                for (int i = 0; i < order.length; i++) {
                    order[i] = i;
                }
                Arrays.sort(order, (a, b) -> pre[a] != pre[b] ? Double.compare(pre[b], pre[a]) : Integer.compare(a, b));
                for (int r = 0; r < cfg.k(); r++) {
                    f[order[r]] = Math.max(0, pre[order[r]]);
                }
            }
            case GATED -> throw new IllegalArgumentException("gated has two pre-activations; use Activations.gated");
            case BATCHTOPK, JUMPRELU, MATRYOSHKA -> {
                if (threshold == null || threshold.length != pre.length) {
                    throw new IllegalArgumentException(cfg.arch() + " needs a threshold per latent (" + pre.length
                            + "), got " + (threshold == null ? "none" : threshold.length));
                }
                for (int i = 0; i < pre.length; i++) {
                    f[i] = pre[i] > threshold[i] && pre[i] > 0 ? pre[i] : 0;
                }
            }
        }
        return f;
    }

    /**
     * The gated activation for one row (Rajamanoharan et al. 2024): f_i = 1[piGate_i > 0] * relu(piMag_i).
     *
     * @param piGate the gate pre-activations [nLatents]
     * @param piMag  the magnitude pre-activations [nLatents]
     */
    public static double[] gated(double[] piGate, double[] piMag) {
        double[] f = new double[piGate.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = piGate[i] > 0 ? Math.max(0, piMag[i]) : 0;
        }
        return f;
    }
}
