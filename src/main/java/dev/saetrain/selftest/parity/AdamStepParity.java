package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.randomFlags;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.assertClose;

import dev.saetrain.device.AdamUpdate;
import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;

/**
 * {@link Device#adamStep} on [m, d] weights (with and without row flags) and a [1, m] bias, at t = 1, 2, 10
 * and 1000, with a clip scale of 0.7. Unflagged rows hold garbage gradients that must be read as zero.
 * Elementwise in fp32 against double, m and v within rtol 1e-6. The first moment starts with the sign of the
 * gradient and v >= m^2: where b1 m + (1 - b1) g cancels, fp32 keeps only ~1e-4 of m, the step
 * (lr mhat / sqrt(vhat)) inherits that, and a tolerance wide enough for it (~3e-4 lr) would hide an eps
 * misplaced inside the sqrt. Without cancellation the parameter is within a few ulps of itself plus ~1e-6 of
 * the step: atol 1e-8, rtol 1e-6; a wrong bias correction or eps inside the sqrt moves it by 1e-6 to 1e-3.
 */
public final class AdamStepParity {
    private static final float LR = 1e-3f;

    private record Out(float[] p, float[] m, float[] v) {
    }

    private static Out run(Device dev, float[] p0, float[] g, float[] m0, float[] v0, int[] flags, int rows, int cols,
                           int t) {
        int n = rows * cols;
        FloatBuf p = up(dev, p0);
        FloatBuf m = up(dev, m0);
        FloatBuf v = up(dev, v0);
        dev.adamStep(p, up(dev, g), m, v, rows, cols, flags == null ? null : upInt(dev, flags),
                new AdamUpdate(LR, 0.9f, 0.999f, 1e-8f, 0.7f, t));
        return new Out(down(dev, p, n), down(dev, m, n), down(dev, v, n));
    }

    private static void check(Device fast, int rows, int cols, int[] flags, long seed) {
        int n = rows * cols;
        float[] p = gaussian(seed, n, 1.0);
        float[] g = gaussian(seed + 1, n, 0.01);
        if (flags != null) {
            for (int i = 0; i < rows; i++) {
                if (flags[i] == 0) {
                    java.util.Arrays.fill(g, i * cols, (i + 1) * cols, 1e6f);
                }
            }
        }
        float[] m = gaussian(seed + 2, n, 0.003);
        for (int q = 0; q < n; q++) {
            m[q] = Math.copySign(m[q], g[q]);
        }
        // A consistent second moment (v >= m^2, as an average of g^2 is), so steps are lr * O(1).
        float[] v = gaussian(seed + 3, n, 0.003);
        for (int q = 0; q < n; q++) {
            v[q] = m[q] * m[q] + v[q] * v[q];
        }
        for (int t : new int[] {1, 2, 10, 1000}) {
            String tag = " (t " + t + (flags == null ? ", no flags)" : ", flags)");
            Out want = run(new ReferenceOps(), p, g, m, v, flags, rows, cols, t);
            Out got = run(fast, p, g, m, v, flags, rows, cols, t);
            assertClose("m" + tag, want.m, got.m, 1e-12, 1e-6);
            assertClose("v" + tag, want.v, got.v, 1e-12, 1e-6);
            assertClose("param" + tag, want.p, got.p, 1e-8, 1e-6);
        }
    }

    public static void adamStepMatchesReference(FastDevice fd, Shape s) {
        try (Device fast = fd.open().get()) {
            check(fast, s.nLatents(), s.dIn(), randomFlags(101, s.nLatents(), 0.5), 102);
            check(fast, s.nLatents(), s.dIn(), null, 103);
            check(fast, 1, s.nLatents(), null, 104);
        }
    }
}
