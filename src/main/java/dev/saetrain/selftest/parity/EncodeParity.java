package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.assertClose;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.ParityAssert;

/**
 * {@link Device#encode}: xIn = x - bDec (or x), pre = xIn wEnc^T + bEnc; and the product alone,
 * {@link Device#gemmNT}: c = alpha a b^T + beta c. Fast device against ReferenceOps.
 */
public final class EncodeParity {

    private record Out(float[] xIn, float[] pre) {
    }

    private static Out run(Device dev, Shape s, float[] x, float[] bDec, float[] wEnc, float[] bEnc, boolean applyBDec) {
        int b = s.batch();
        int d = s.dIn();
        int m = s.nLatents();
        FloatBuf xIn = dev.allocFloat((long) b * d);
        FloatBuf pre = dev.allocFloat((long) b * m);
        dev.encode(up(dev, x), up(dev, bDec), up(dev, wEnc), up(dev, bEnc), applyBDec, s.step(), xIn, pre);
        return new Out(down(dev, xIn, b * d), down(dev, pre, b * m));
    }

    public static void encodeMatchesReference(FastDevice fd, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        float[] x = gaussian(1, s.batch() * d, 1.0);
        float[] bDec = gaussian(2, d, 0.3);
        // Encoder rows of norm ~1, so pre is O(1) and ParityAssert's fp32-sum tolerance applies.
        float[] wEnc = gaussian(3, m * d, 1 / Math.sqrt(d));
        float[] bEnc = gaussian(4, m, 0.1);
        try (Device fast = fd.open().get()) {
            for (boolean apply : new boolean[] {true, false}) {
                Out want = run(new ReferenceOps(), s, x, bDec, wEnc, bEnc, apply);
                Out got = run(fast, s, x, bDec, wEnc, bEnc, apply);
                assertClose("xIn (applyBDec " + apply + ")", want.xIn, got.xIn, 0, 0);
                double[] tol = DeviceFixtures.denseProductTolerance(fd, ParityAssert.ATOL_SUM, ParityAssert.RTOL_SUM);
                assertClose("pre (applyBDec " + apply + ")", want.pre, got.pre, tol[0], tol[1]);
            }
        }
    }

    private static float[] gemm(Device dev, Shape s, float[] a, float[] b, float[] c, float alpha, float beta) {
        FloatBuf cb = up(dev, c);
        dev.gemmNT(up(dev, a), up(dev, b), cb, s.batch(), s.nLatents(), s.dIn(), alpha, beta);
        return down(dev, cb, s.batch() * s.nLatents());
    }

    public static void gemmNTMatchesReference(FastDevice fd, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        float[] a = gaussian(5, s.batch() * d, 1.0);
        float[] b = gaussian(6, m * d, 1 / Math.sqrt(d));
        float[] c = gaussian(7, s.batch() * m, 1.0);
        try (Device fast = fd.open().get()) {
            for (float[] ab : new float[][] {{1f, 0f}, {0.5f, 1f}, {-2f, 0.25f}}) {
                float[] want = gemm(new ReferenceOps(), s, a, b, c, ab[0], ab[1]);
                float[] got = gemm(fast, s, a, b, c, ab[0], ab[1]);
                double[] tol = DeviceFixtures.denseProductTolerance(fd, 2 * ParityAssert.ATOL_SUM, ParityAssert.RTOL_SUM);
                assertClose("c (alpha " + ab[0] + ", beta " + ab[1] + ")", want, got, tol[0], tol[1]);
            }
        }
    }
}
