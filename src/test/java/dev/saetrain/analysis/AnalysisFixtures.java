package dev.saetrain.analysis;

import dev.saetrain.export.ExportInfo;
import dev.saetrain.export.SaeLensWriter;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/** Seeded weights, unit rows, shards and dictionary folders for the analysis tests. */
final class AnalysisFixtures {
    private AnalysisFixtures() {
    }

    /** [n] values uniform in [-scale, scale). */
    static float[] uniform(SplittableRandom rng, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    /** [n, d] rows of Gaussians normalised to unit length. */
    static float[] unitRows(SplittableRandom rng, int n, int d) {
        float[] a = new float[n * d];
        for (int i = 0; i < n; i++) {
            double s = 0;
            double[] g = new double[d];
            for (int j = 0; j < d; j++) {
                double u1 = 1 - rng.nextDouble();
                g[j] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rng.nextDouble());
                s += g[j] * g[j];
            }
            for (int j = 0; j < d; j++) {
                a[i * d + j] = (float) (g[j] / Math.sqrt(s));
            }
        }
        return a;
    }

    /** Random weights of {@code cfg} with the extras its architecture needs. */
    static SaeWeights random(SaeConfig cfg, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int d = cfg.dIn();
        int m = cfg.nLatents();
        Map<String, float[]> extras = switch (cfg.arch()) {
            case GATED -> Map.of("b_mag", uniform(rng, m, 0.1), "r_mag", uniform(rng, m, 0.5));
            case JUMPRELU, BATCHTOPK, MATRYOSHKA -> Map.of("threshold", uniform(rng, m, 0.05));
            default -> Map.of();
        };
        return SaeWeights.of(cfg, uniform(rng, d * m, 1 / Math.sqrt(d)), uniform(rng, m, 0.1),
                uniform(rng, m * d, 1 / Math.sqrt(m)), uniform(rng, d, 0.1), extras);
    }

    /** W_enc [d, m] = transpose of rows [m, d]. */
    static float[] transpose(float[] rows, int m, int d) {
        float[] t = new float[d * m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < d; j++) {
                t[j * m + i] = rows[i * d + j];
            }
        }
        return t;
    }

    /** Writes {@code rows} [n, d] as an F32 .npy shard. */
    static void shard(Path file, float[] rows, int d) throws IOException {
        NpyWriter.write(file, Tensor.f32(rows, rows.length / d, d));
    }

    /** Writes {@code w} as a SAELens dictionary folder. */
    static Path saeDir(Path dir, SaeWeights w) throws IOException {
        SaeLensWriter.write(dir, w, new double[w.config().nLatents()], ExportInfo.minimal("test", "dev", 0, 1));
        return dir;
    }
}
