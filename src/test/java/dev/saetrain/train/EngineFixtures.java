package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;

/** Reading an {@link Engine}'s package-private state for tests. */
final class EngineFixtures {
    private EngineFixtures() {
    }

    /** Gradient of one parameter as doubles; rows whose flag is 0 hold no gradient and read as zero. */
    static double[] grad(Device dev, AdamState s, IntBuf flags) {
        return masked(dev, s.grad, s.rows, s.cols, flags);
    }

    static double[] masked(Device dev, FloatBuf buf, int rows, int cols, IntBuf flags) {
        float[] g = DeviceFixtures.down(dev, buf, rows * cols);
        int[] f = flags == null ? null : DeviceFixtures.downInt(dev, flags, rows);
        double[] out = new double[g.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[i * cols + j] = f == null || f[i] != 0 ? g[i * cols + j] : 0;
            }
        }
        return out;
    }

    /**
     * The engine's four gradients (wEnc, bEnc, wDec, bDec), flag-masked, in ReferenceSae's order and layout; tied:
     * the shared matrix's gradient in both places (one array, as ReferenceSae gives it); gated adds rMag, bMag.
     */
    static double[][] grads(Device dev, Engine e) {
        SharedParts s = e.shared();
        double[] dWDec = grad(dev, s.wDec, s.decActive);
        double[] dWEnc = s.wEnc == null ? dWDec : grad(dev, s.wEnc, s.encActive);
        double[][] shared = {dWEnc, grad(dev, s.bEnc, null), dWDec, grad(dev, s.bDec, null)};
        if (e.architecture() instanceof GatedStep gated) {
            return new double[][] {shared[0], shared[1], shared[2], shared[3],
                    grad(dev, gated.parameters().get("r_mag"), null), grad(dev, gated.parameters().get("b_mag"), null)};
        }
        return shared;
    }

    /**
     * The gradients the engine clips together: {@link #grads} (gated's r_mag and b_mag included), plus
     * log_threshold's [m] for jumprelu (ReferenceSae's {@code dLogThreshold}).
     */
    static double[][] allGrads(Device dev, Engine e) {
        double[][] g = grads(dev, e);
        if (!(e.architecture() instanceof JumpReluStep jumpRelu)) {
            return g;
        }
        double[][] out = java.util.Arrays.copyOf(g, 5);
        out[4] = grad(dev, jumpRelu.parameters().get("log_threshold"), null);
        return out;
    }

    /** batchtopk's or matryoshka's inference threshold theta. */
    static float batchTopkThreshold(Engine e) {
        ArchitectureStep a = e.architecture();
        return ((BatchSelectionStep) a).selection().threshold();
    }

    static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    static double sumSquares(double[][] ts) {
        double s = 0;
        for (double[] t : ts) {
            for (double v : t) {
                s += v * v;
            }
        }
        return s;
    }
}
