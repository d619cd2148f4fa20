package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.downInt;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.randomFlags;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.ATOL_SUM;
import static dev.saetrain.selftest.ParityAssert.RTOL_SUM;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertSameInts;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SaeGrads;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.ParityAssert;
import java.util.Arrays;

/**
 * {@link Device#denseBackward}, with and without l1PerLatent: dpre (in the scratch buffer), dWDec, dWEnc and
 * dBEnc are overwritten, whatever they held, and every flag is set; accumulating (a row-blocked step's later
 * blocks), the three gradients are added to what they held (every flag set before). f = relu(pre) with all-zero
 * rows; scale 2/B. ParityAssert's fp32-sum tolerance (dot products of length d <= 769, sums over <= 33 rows).
 */
public final class DenseBackwardParity {

    private record Out(float[] dpre, float[] dWDec, float[] dWEnc, float[] dBEnc, int[] decFlags, int[] encFlags) {
    }

    private static float[] garbage(int n) {
        float[] g = new float[n];
        Arrays.fill(g, 1e6f);
        return g;
    }

    private static Out run(Device dev, float[] f, float[] err, float[] wDec, float[] l1, float[] xIn, Shape s,
                           boolean accumulate) {
        int b = s.batch();
        int d = s.dIn();
        int m = s.nLatents();
        FloatBuf dpre = up(dev, garbage(b * m));
        // Accumulating: gradients that hold values (every flag set); overwriting: garbage and partial flags.
        FloatBuf dWDec = up(dev, accumulate ? gaussian(97, m * d, 0.1) : garbage(m * d));
        FloatBuf dWEnc = up(dev, accumulate ? gaussian(98, m * d, 0.1) : garbage(m * d));
        FloatBuf dBEnc = up(dev, accumulate ? gaussian(99, m, 0.1) : garbage(m));
        int[] allSet = new int[m];
        Arrays.fill(allSet, 1);
        IntBuf decFlags = upInt(dev, accumulate ? allSet : randomFlags(91, m, 0.3));
        IntBuf encFlags = upInt(dev, accumulate ? allSet : new int[m]);
        dev.denseBackward(up(dev, f), up(dev, err), 2f / b, up(dev, wDec), l1 == null ? null : up(dev, l1), up(dev, xIn),
                s.step(), dpre, new SaeGrads(dWEnc, encFlags, dBEnc, dWDec, decFlags), accumulate);
        return new Out(down(dev, dpre, b * m), down(dev, dWDec, m * d), down(dev, dWEnc, m * d), down(dev, dBEnc, m),
                downInt(dev, decFlags, m), downInt(dev, encFlags, m));
    }

    public static void denseBackwardMatchesReference(FastDevice fd, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        float[] f = ReluSparseParity.reluInputs(92, s.batch(), m);
        for (int q = 0; q < f.length; q++) {
            f[q] = Math.max(0f, f[q] + 1f);
        }
        float[] err = gaussian(93, s.batch() * d, 1.0);
        float[] wDec = gaussian(94, m * d, 1 / Math.sqrt(d));
        float[] l1 = DeviceFixtures.l1PerLatent(95, m);
        float[] xIn = gaussian(96, s.batch() * d, 1.0);
        int[] allSet = new int[m];
        Arrays.fill(allSet, 1);
        try (Device fast = fd.open().get()) {
            for (boolean accumulate : new boolean[] {false, true}) {
                for (float[] l1PerLatent : new float[][] {null, l1}) {
                    String tag = (l1PerLatent == null ? " (no l1" : " (l1") + (accumulate ? ", accumulate)" : ")");
                    Out want = run(new ReferenceOps(), f, err, wDec, l1PerLatent, xIn, s, accumulate);
                    Out got = run(fast, f, err, wDec, l1PerLatent, xIn, s, accumulate);
                    assertSameInts("decActive" + tag, allSet, got.decFlags);
                    assertSameInts("encActive" + tag, allSet, got.encFlags);
                    double[] tol = DeviceFixtures.denseProductTolerance(fd, ATOL_SUM, RTOL_SUM); // TF32 on CUDA
                    assertClose("dpre" + tag, want.dpre, got.dpre, tol[0], tol[1]);
                    assertClose("dWDec" + tag, want.dWDec, got.dWDec, tol[0], tol[1]);
                    assertClose("dWEnc" + tag, want.dWEnc, got.dWEnc, tol[0], tol[1]);
                    assertClose("dBEnc" + tag, want.dBEnc, got.dBEnc, tol[0], tol[1]);
                }
            }
        }
    }
}
