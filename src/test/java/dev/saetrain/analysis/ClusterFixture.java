package dev.saetrain.analysis;

import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Planted data with structure in which latents co-occur: d = 32, 64 latents in 8 clusters of 8. A cluster's decoder
 * rows are its centre plus noise, normalised (cosine about 0.7 within a cluster, about 0 across). Real rows take one
 * cluster and 1-4 of its latents with activations uniform in [1, 3], so active latents have high cosine similarity to
 * their row's top latent; a bag of latents drawn without regard to clusters does not. The SAE is ReLU with
 * W_enc = W_dec^T and b_enc = -1.2 (weak matches stay off).
 */
final class ClusterFixture {
    static final int D = 32;
    static final int M = 64;
    static final int CLUSTERS = 8;

    final SaeWeights sae;
    final float[] wDec = new float[M * D];

    ClusterFixture(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] centres = new float[CLUSTERS][];
        for (int c = 0; c < CLUSTERS; c++) {
            centres[c] = unit(gaussian(r, D));
        }
        for (int i = 0; i < M; i++) {
            float[] noise = unit(gaussian(r, D));
            float[] row = new float[D];
            for (int j = 0; j < D; j++) {
                row[j] = centres[i / (M / CLUSTERS)][j] + 0.6f * noise[j];
            }
            System.arraycopy(unit(row), 0, wDec, i * D, D);
        }
        float[] wEnc = new float[D * M];
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < D; j++) {
                wEnc[j * M + i] = wDec[i * D + j];
            }
        }
        float[] bEnc = new float[M];
        java.util.Arrays.fill(bEnc, -1.2f);
        sae = SaeWeights.of(SaeConfig.relu(D, 2, 1), wEnc, bEnc, wDec, new float[D]);
    }

    /** Writes {@code rows} real rows to {@code file} as one .npy shard. */
    void writeShard(Path file, int rows, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[rows * D];
        int per = M / CLUSTERS;
        for (int row = 0; row < rows; row++) {
            int c = r.nextInt(CLUSTERS);
            int k = 1 + r.nextInt(4);
            int[] pick = r.ints(0, per).distinct().limit(k).toArray();
            for (int p : pick) {
                int i = c * per + p;
                double a = 1 + 2 * r.nextDouble();
                for (int j = 0; j < D; j++) {
                    x[row * D + j] += (float) (a * wDec[i * D + j]);
                }
            }
        }
        NpyWriter.write(file, Tensor.f32(x, rows, D));
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) LensFixture.gauss(r);
        }
        return v;
    }

    private static float[] unit(float[] v) {
        double s = 0;
        for (float x : v) {
            s += x * x;
        }
        float inv = (float) (1 / Math.sqrt(s));
        float[] u = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            u[i] = v[i] * inv;
        }
        return u;
    }
}
