package dev.saetrain.export;

import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.util.SplittableRandom;

/** Seeded random SAE weights and inputs for export tests. */
final class TestWeights {
    private TestWeights() {
    }

    /** Weights with entries uniform in [-1, 1) scaled by 1/sqrt(fan-in), biases uniform in [-0.1, 0.1). */
    static SaeWeights random(SaeConfig cfg, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int d = cfg.dIn();
        int m = cfg.nLatents();
        return SaeWeights.of(cfg, uniform(rng, d * m, 1 / Math.sqrt(d)), uniform(rng, m, 0.1),
                uniform(rng, m * d, 1 / Math.sqrt(m)), uniform(rng, d, 0.1));
    }

    /** [n] values uniform in [-scale, scale). */
    static float[] uniform(SplittableRandom rng, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }
}
