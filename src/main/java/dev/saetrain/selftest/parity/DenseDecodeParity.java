package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.ATOL_SUM;
import static dev.saetrain.selftest.ParityAssert.RTOL_SUM;
import static dev.saetrain.selftest.ParityAssert.assertClose;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.DeviceFixtures;

/**
 * {@link Device#denseDecode}: xHat = f wDec + bDec for dense f = relu(pre) with some all-zero rows. wDec is
 * scaled by 1/sqrt(m) so xHat is O(1); tolerances as SparseDecodeParity.
 */
public final class DenseDecodeParity {

    private record Out(double sse, float[] xHat, float[] err) {
    }

    private static Out run(Device dev, float[] f, float[] wDec, float[] bDec, float[] target, Shape s) {
        int n = s.batch() * s.dIn();
        FloatBuf xHat = dev.allocFloat(n);
        FloatBuf err = dev.allocFloat(n);
        double sse = dev.denseDecode(up(dev, f), up(dev, wDec), up(dev, bDec), up(dev, target), s.step(),
                xHat, err);
        return new Out(sse, down(dev, xHat, n), down(dev, err, n));
    }

    public static void denseDecodeMatchesReference(FastDevice fd, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        float[] f = ReluSparseParity.reluInputs(61, s.batch(), m);
        for (int q = 0; q < f.length; q++) {
            f[q] = Math.max(0f, f[q] + 1f);
        }
        float[] wDec = gaussian(62, m * d, 1 / Math.sqrt(m));
        float[] bDec = gaussian(63, d, 0.5);
        float[] target = gaussian(64, s.batch() * d, 1.0);
        try (Device fast = fd.open().get()) {
            Out want = run(new ReferenceOps(), f, wDec, bDec, target, s);
            Out got = run(fast, f, wDec, bDec, target, s);
            double[] tol = DeviceFixtures.denseProductTolerance(fd, ATOL_SUM, RTOL_SUM); // TF32 on CUDA
            assertClose("xHat", want.xHat, got.xHat, tol[0], tol[1]);
            assertClose("err", want.err, got.err, tol[0], tol[1]);
            assertClose("sum err^2", want.sse, got.sse, 0, Math.max(1e-5, tol[1]));
        }
    }
}
