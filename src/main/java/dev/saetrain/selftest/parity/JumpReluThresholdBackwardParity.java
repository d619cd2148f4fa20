package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.arch.JumpReluOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.ParityAssert;
import java.util.Random;

/**
 * {@link JumpReluOps#jumpReluThresholdBackward} against ReferenceOps. pre ~ N(0, 0.1^2) and thresholds in
 * [0.005, 0.15] with a bandwidth of 0.05 put ~15 % of the entries in the kernel's window (above the CPU's
 * WINDOW_GEMM_FRACTION: its dot products come from an sgemm per block of rows), with a bandwidth of 0.004 ~1 % (one
 * dot product per entry). Each output is theta times a sum of up to 33 window terms, each a fp32 dot product over d:
 * atol 1e-5 times the largest reference value, rtol 1e-4 (see ParityAssert).
 */
public final class JumpReluThresholdBackwardParity {

    public static void thresholdGradientMatchesReference(FastDevice fd, Shape s) {
        thresholdGradientMatchesReference(fd, s, 0.05f, 0.08, 1);
        thresholdGradientMatchesReference(fd, s, 0.004f, 0, 0.03);
    }

    /** With bandwidth eps, whose window must hold a fraction of the entries in (lo, hi). */
    private static void thresholdGradientMatchesReference(FastDevice fd, Shape s, float eps, double lo, double hi) {
        int b = s.batch();
        int d = s.dIn();
        int m = s.nLatents();
        float[] pre = gaussian(41, b * m, 0.1);
        float[] err = gaussian(42, b * d, 1.0);
        float[] wDec = gaussian(43, m * d, 1 / Math.sqrt(d));
        Random r = new Random(44);
        float[] th = new float[m];
        for (int i = 0; i < m; i++) {
            th[i] = (float) (0.005 + 0.145 * r.nextDouble());
        }
        int inWindow = 0;
        for (int q = 0; q < b * m; q++) {
            inWindow += Math.abs(pre[q] - (double) th[q % m]) < eps / 2.0 ? 1 : 0;
        }
        double fraction = inWindow / (double) (b * m);
        assertTrue(fraction > lo && fraction < hi, "eps " + eps + ": window fraction " + fraction);
        float scale = 2f / b;
        float l0Scale = 0.3f / b;
        Device ref = new ReferenceOps();
        FloatBuf want = ref.allocFloat(m);
        ref.jumpReluOps().jumpReluThresholdBackward(up(ref, pre), up(ref, th), up(ref, err), scale, up(ref, wDec), eps,
                l0Scale, s.step(), want);
        float[] w = down(ref, want, m);
        int nonzero = 0;
        double max = 0;
        for (float v : w) {
            nonzero += v != 0 ? 1 : 0;
            max = Math.max(max, Math.abs(v));
        }
        assertTrue(nonzero > 0, "some entries must fall in the window");
        try (Device fast = fd.open().get()) {
            FloatBuf got = fast.allocFloat(m);
            fast.fill(got, m, 123f); // overwritten, not added to
            fast.jumpReluOps().jumpReluThresholdBackward(up(fast, pre), up(fast, th), up(fast, err), scale,
                    up(fast, wDec), eps, l0Scale, s.step(), got);
            ParityAssert.assertClose("dLogThreshold, eps " + eps, w, down(fast, got, m), 1e-5 * max, 1e-4);
        }
    }
}
