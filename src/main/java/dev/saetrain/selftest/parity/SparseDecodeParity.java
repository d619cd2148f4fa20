package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.randomActs;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.ATOL_SUM;
import static dev.saetrain.selftest.ParityAssert.RTOL_SUM;
import static dev.saetrain.selftest.ParityAssert.assertClose;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.ParityAssert;

/**
 * {@link Device#sparseDecode} with and without bDec, on CSR rows of varying length (one row empty, some
 * value-0 entries). xHat and err within ParityAssert's fp32-sum tolerance; the returned sum of squares
 * (up to 25k terms, accumulated in double by both) relative 1e-5.
 */
public final class SparseDecodeParity {

    private record Out(double sse, float[] xHat, float[] err) {
    }

    private static Out run(Device dev, HostActs acts, float[] wDec, float[] bDec, float[] target, Shape s) {
        int n = s.batch() * s.dIn();
        FloatBuf xHat = dev.allocFloat(n);
        FloatBuf err = dev.allocFloat(n);
        double sse = dev.sparseDecode(acts.upload(dev), up(dev, wDec), bDec == null ? null : up(dev, bDec),
                up(dev, target), s.step(), xHat, err);
        return new Out(sse, down(dev, xHat, n), down(dev, err, n));
    }

    public static void sparseDecodeMatchesReference(FastDevice fd, Shape s) {
        int d = s.dIn();
        HostActs acts = randomActs(51, s.batch(), s.nLatents(), Math.max(2, s.k()));
        float[] wDec = gaussian(52, s.nLatents() * d, 1 / Math.sqrt(d));
        float[] bDec = gaussian(53, d, 0.5);
        float[] target = gaussian(54, s.batch() * d, 1.0);
        try (Device fast = fd.open().get()) {
            for (float[] bd : new float[][] {bDec, null}) {
                String tag = bd == null ? " (no bDec)" : " (bDec)";
                Out want = run(new ReferenceOps(), acts, wDec, bd, target, s);
                Out got = run(fast, acts, wDec, bd, target, s);
                assertClose("xHat" + tag, want.xHat, got.xHat, ATOL_SUM, RTOL_SUM);
                assertClose("err" + tag, want.err, got.err, ATOL_SUM, RTOL_SUM);
                assertClose("sum err^2" + tag, want.sse, got.sse, 0, 1e-5);
            }
        }
    }
}
