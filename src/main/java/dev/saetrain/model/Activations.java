package dev.saetrain.model;

import java.util.Arrays;

/** Plain per-row activation functions (reference semantics, used outside the hot path). */
public final class Activations {
    private Activations() {
    }

    /** f = act(pre) for one row; topk keeps the k largest (ties: lower index first) and ReLUs them. */
    public static double[] apply(SaeConfig cfg, double[] pre) {
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
        }
        return f;
    }
}
