package dev.saetrain.train;

import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.selftest.ParityAssert;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A full {@link Engine#step} (gradients, norm clip, Adam, decoder renormalisation for unit-norm decoders; gated: r_mag and b_mag too) over four steps
 * against a hand-written double-precision optimizer fed with the engine's own gradients (their correctness
 * is EngineGradientParityTest's business). Adam as torch.optim.Adam: m = b1 m + (1 - b1) g,
 * v = b2 v + (1 - b2) g^2, p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), every element updated
 * (flag-0 rows with g = 0); g = grad * min(1, 1 / |grad|).
 *
 * <p>Tolerance: the engine keeps parameters and moments in fp32, so after a few steps a parameter is a few
 * ulps of itself plus ~1e-6 of each lr-sized step away from the double reference: atol 1e-6, rtol 1e-5.
 * Inputs are scaled so the first steps clip (norm > 1) and later ones may not.
 */
class EngineAdamStepTest {
    private static final int BATCH = 33;
    private static final int D = 48;
    private static final int M = 257;
    private static final double LR = 1e-3;
    private static final String[] NAMES = {"wEnc", "bEnc", "wDec", "bDec", "rMag", "bMag"};

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void stepMatchesDoubleAdam(Architecture arch) {
        boolean picksK = arch == Architecture.TOPK || arch == Architecture.BATCHTOPK || arch == Architecture.MATRYOSHKA;
        check(new SaeConfig(arch, D, M, picksK ? 7 : 0, 3.0, true));
    }

    /** Tied: one shared matrix, one Adam state (ReferenceSae's wEnc and wDec are one array, updated once). */
    @ParameterizedTest
    @EnumSource(value = Architecture.class, names = {"TOPK", "RELU"})
    void tiedStepMatchesDoubleAdam(Architecture arch) {
        check(new SaeConfig(arch, D, M, arch == Architecture.TOPK ? 7 : 0, 3.0, true, true));
    }

    /**
     * jumprelu's log_threshold takes Adam at the step's threshold LR (here 50 times the weights' LR, whose four
     * tensors the test above checks): after each of four steps it is where double Adam at that LR puts it, fed with
     * the engine's own log_threshold gradient.
     */
    @org.junit.jupiter.api.Test
    void jumpReluThresholdStepsAtItsScaledLr() {
        SaeConfig cfg = new SaeConfig(Architecture.JUMPRELU, D, M, 0, 3.0, true);
        double scale = 50;
        SaeWeights init = SaeInit.initial(cfg, 411, gaussian(412, D, 0.2));
        double[] logTheta = new double[M];
        for (int i = 0; i < M; i++) {
            logTheta[i] = (float) Math.log(init.extras().get("threshold")[i]);
        }
        double[] mom = new double[M];
        double[] vel = new double[M];
        int moved = 0;
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            for (int t = 1; t <= 4; t++) {
                // Inputs of the scale of the thresholds' window, so that many latents have pre within it.
                StepStats s = e.step(up(dev, gaussian(413 + t, BATCH * D, 0.5)), LR, 3.0, scale * LR);
                double[][] g = EngineFixtures.allGrads(dev, e);
                double norm = Math.sqrt(EngineFixtures.sumSquares(g));
                double clip = norm > 1 ? 1 / norm : 1;
                for (int i = 0; i < M; i++) {
                    double gi = clip * g[4][i];
                    mom[i] = 0.9 * mom[i] + 0.1 * gi;
                    vel[i] = 0.999 * vel[i] + 0.001 * gi * gi;
                    double mHat = mom[i] / (1 - Math.pow(0.9, t));
                    double vHat = vel[i] / (1 - Math.pow(0.999, t));
                    logTheta[i] -= scale * LR * mHat / (Math.sqrt(vHat) + 1e-8);
                }
                float[] theta = e.weights().extras().get("threshold");
                double[] got = new double[M];
                for (int i = 0; i < M; i++) {
                    got[i] = Math.log(theta[i]);
                }
                ParityAssert.assertClose("log_threshold after step " + t, logTheta, got, 1e-6, 1e-5);
                assertTrue(s.gradNorm() > 0, "the step must have a gradient");
            }
            for (int i = 0; i < M; i++) {
                moved += Math.abs(logTheta[i] - Math.log(init.extras().get("threshold")[i])) > 4 * LR ? 1 : 0;
            }
        }
        assertTrue(moved > 0, "some threshold must move further than the unscaled LR allows in four steps");
    }

    private static void check(SaeConfig cfg) {
        double lambda = cfg.l1();
        SaeWeights init = SaeInit.initial(cfg, 401, gaussian(402, D, 0.2));
        double[][] p = ReferenceSae.of(init).params(); // gated adds r_mag and b_mag
        int[] tensors = cfg.tied() ? new int[] {1, 2, 3} : java.util.stream.IntStream.range(0, p.length).toArray();
        double[][] mom = new double[p.length][];
        double[][] vel = new double[p.length][];
        for (int q = 0; q < p.length; q++) {
            mom[q] = new double[p[q].length];
            vel[q] = new double[p[q].length];
        }
        boolean clipped = false;
        try (Device dev = new CpuDevice(3); Engine e = new Engine(dev, init, BATCH, 10_000_000)) {
            for (int t = 1; t <= 4; t++) {
                float[] x = gaussian(403 + t, BATCH * D, 3.0);
                FloatBuf xb = up(dev, x);
                StepStats s = e.step(xb, LR, lambda);
                double[][] g = EngineFixtures.grads(dev, e);
                double[][] distinct = cfg.tied() ? new double[][] {g[1], g[2], g[3]} : EngineFixtures.allGrads(dev, e);
                double norm = Math.sqrt(EngineFixtures.sumSquares(distinct));
                ParityAssert.assertClose("gradNorm at step " + t, norm, s.gradNorm(), 0, 1e-6);
                double clip = norm > 1 ? 1 / norm : 1;
                clipped |= norm > 1;
                for (int q : tensors) {
                    for (int i = 0; i < p[q].length; i++) {
                        double gi = clip * g[q][i];
                        mom[q][i] = 0.9 * mom[q][i] + 0.1 * gi;
                        vel[q][i] = 0.999 * vel[q][i] + 0.001 * gi * gi;
                        double mHat = mom[q][i] / (1 - Math.pow(0.9, t));
                        double vHat = vel[q][i] / (1 - Math.pow(0.999, t));
                        p[q][i] -= LR * mHat / (Math.sqrt(vHat) + 1e-8);
                    }
                }
                if (cfg.unitNormDecoder()) {
                    normalizeRows(p[2], M, D);
                }
                double[][] got = ReferenceSae.of(e.weights()).params();
                for (int q = 0; q < p.length; q++) {
                    ParityAssert.assertClose(cfg.name() + " " + NAMES[q] + " after step " + t, p[q], got[q], 1e-6, 1e-5);
                }
            }
        }
        assertTrue(clipped, "the inputs must make at least one step clip");
    }

    private static void normalizeRows(double[] w, int rows, int cols) {
        for (int i = 0; i < rows; i++) {
            double s = 0;
            for (int j = 0; j < cols; j++) {
                s += w[i * cols + j] * w[i * cols + j];
            }
            double n = Math.sqrt(s);
            for (int j = 0; j < cols; j++) {
                w[i * cols + j] /= n;
            }
        }
    }
}
