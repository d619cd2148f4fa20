package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** SparseEncoder against the reference forward pass {@link SaeWeights#reconstruct}, every architecture, awkward sizes. */
class SparseEncoderTest {
    @Test
    void codesDecodeToTheReferenceReconstruction() {
        int d = 24;
        int rows = 37;
        for (Architecture arch : Architecture.values()) {
            SaeConfig cfg = SaeConfig.of(arch, d, 2, 5, 0.5);
            int m = cfg.nLatents();
            SplittableRandom r = new SplittableRandom(arch.ordinal() + 1);
            Map<String, float[]> extras = new LinkedHashMap<>();
            if (arch == Architecture.GATED) {
                extras.put("b_mag", uniform(r, m, 0.2));
                extras.put("r_mag", uniform(r, m, 0.3));
            } else if (arch.exportsThreshold()) {
                float[] th = uniform(r, m, 0.2);
                for (int i = 0; i < m; i++) {
                    th[i] = Math.abs(th[i]);
                }
                extras.put("threshold", th);
            }
            SaeWeights w = new SaeWeights(cfg, uniform(r, d * m, 0.3), uniform(r, m, 0.1), uniform(r, m * d, 0.3),
                    uniform(r, d, 0.1), extras);
            float[] x = uniform(r, rows * d, 1);
            SparseEncoder.Codes c = new SparseEncoder(w, 64).encode(x, rows);
            float[] row = new float[d];
            float[] ref = new float[d];
            for (int i = 0; i < rows; i++) {
                System.arraycopy(x, i * d, row, 0, d);
                int l0 = w.reconstruct(row, ref);
                assertEquals(l0, c.l0(i), arch + " row " + i + " L0");
                for (int j = 0; j < d; j++) {
                    double v = w.bDec()[j];
                    for (int e = c.rowPtr()[i]; e < c.rowPtr()[i + 1]; e++) {
                        v += c.val()[e] * w.wDec()[c.idx()[e] * d + j];
                    }
                    assertEquals(ref[j], v, 1e-4, arch + " row " + i + " column " + j);
                }
            }
        }
    }

    private static float[] uniform(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((2 * r.nextDouble() - 1) * scale);
        }
        return a;
    }
}
