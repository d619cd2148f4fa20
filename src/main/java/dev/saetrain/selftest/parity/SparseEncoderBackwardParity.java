package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.downInt;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.randomActs;
import static dev.saetrain.selftest.DeviceFixtures.randomFlags;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.ATOL_SUM;
import static dev.saetrain.selftest.ParityAssert.RTOL_SUM;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertSameInts;
import static dev.saetrain.selftest.ParityAssert.maskRows;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.ParityAssert;

/**
 * {@link Device#sparseEncoderBackward}: dWEnc rows (flag semantics as SparseDecoderBackwardParity) and
 * dBEnc (dense, added to). acts.grad is random where val > 0 and 0 elsewhere, as the decoder backward leaves
 * it. Sums of at most 33 O(1) products: ParityAssert's fp32-sum tolerance.
 */
public final class SparseEncoderBackwardParity {

    private record Out(float[] dWEnc, float[] dBEnc, int[] flags) {
    }

    private static Out run(Device dev, HostActs acts, float[] xIn, float[] dW0, float[] dB0, int[] flags0, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        FloatBuf dW = up(dev, dW0);
        FloatBuf dB = up(dev, dB0);
        IntBuf flags = upInt(dev, flags0);
        dev.sparseEncoderBackward(acts.upload(dev), up(dev, xIn), s.step(), dW, dB, flags);
        int[] f = downInt(dev, flags, m);
        return new Out(maskRows(down(dev, dW, m * d), f, d), down(dev, dB, m), f);
    }

    public static void sparseEncoderBackwardMatchesReference(FastDevice fd, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        HostActs a = randomActs(81, s.batch(), m, Math.max(2, s.k()));
        float[] grad = gaussian(82, a.nnz(), 1.0);
        for (int e = 0; e < grad.length; e++) {
            grad[e] = a.val()[e] > 0 ? grad[e] : 0f;
        }
        HostActs acts = new HostActs(a.rowPtr(), a.idx(), a.val(), grad);
        float[] xIn = gaussian(83, s.batch() * d, 1.0);
        int[] flags0 = randomFlags(84, m, 0.2);
        float[] dW0 = SparseDecoderBackwardParity.startingGradient(85, flags0, m, d);
        float[] dB0 = gaussian(86, m, 0.1);
        try (Device fast = fd.open().get()) {
            Out want = run(new ReferenceOps(), acts, xIn, dW0, dB0, flags0, s);
            Out got = run(fast, acts, xIn, dW0, dB0, flags0, s);
            assertSameInts("rowActive", want.flags, got.flags);
            assertClose("dWEnc", want.dWEnc, got.dWEnc, ATOL_SUM, RTOL_SUM);
            assertClose("dBEnc", want.dBEnc, got.dBEnc, ATOL_SUM, RTOL_SUM);
        }
    }
}
