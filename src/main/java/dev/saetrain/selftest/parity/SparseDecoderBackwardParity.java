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
import dev.saetrain.device.SparseActs;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.ParityAssert;
import java.util.Arrays;

/**
 * {@link Device#sparseDecoderBackward}, with and without l1PerLatent. A fifth of the rows of dWDec start
 * flagged with a gradient already in them (must be added to); the unflagged rows start as garbage (must be
 * zeroed before the first add). Compares acts.grad per entry (the CSR is the same input on both), dWDec on
 * flagged rows (unflagged rows hold no gradient) and the flags exactly. Scale 2/B; products are O(1/B):
 * ParityAssert's fp32-sum tolerance.
 */
public final class SparseDecoderBackwardParity {

    private record Out(float[] grad, float[] dWDec, int[] flags) {
    }

    static float[] startingGradient(long seed, int[] flags, int rows, int cols) {
        float[] g = gaussian(seed, rows * cols, 0.1);
        for (int i = 0; i < rows; i++) {
            if (flags[i] == 0) {
                Arrays.fill(g, i * cols, (i + 1) * cols, 1e6f);
            }
        }
        return g;
    }

    private static Out run(Device dev, HostActs acts, float[] err, float[] wDec, float[] l1, float[] dW0, int[] flags0,
                           Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        SparseActs a = acts.upload(dev);
        FloatBuf dW = up(dev, dW0);
        IntBuf flags = upInt(dev, flags0);
        dev.sparseDecoderBackward(a, up(dev, err), 2f / s.batch(), up(dev, wDec), l1 == null ? null : up(dev, l1),
                s.step(), dW, flags);
        int[] f = downInt(dev, flags, m);
        return new Out(down(dev, a.grad(), Math.max(1, acts.nnz())), maskRows(down(dev, dW, m * d), f, d), f);
    }

    public static void sparseDecoderBackwardMatchesReference(FastDevice fd, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        HostActs acts = randomActs(71, s.batch(), m, Math.max(2, s.k()));
        float[] err = gaussian(72, s.batch() * d, 1.0);
        float[] wDec = gaussian(73, m * d, 1 / Math.sqrt(d));
        float[] l1 = DeviceFixtures.l1PerLatent(74, m);
        int[] flags0 = randomFlags(75, m, 0.2);
        float[] dW0 = startingGradient(76, flags0, m, d);
        try (Device fast = fd.open().get()) {
            for (float[] l1PerLatent : new float[][] {null, l1}) {
                String tag = l1PerLatent == null ? " (no l1)" : " (l1)";
                Out want = run(new ReferenceOps(), acts, err, wDec, l1PerLatent, dW0, flags0, s);
                Out got = run(fast, acts, err, wDec, l1PerLatent, dW0, flags0, s);
                assertSameInts("rowActive" + tag, want.flags, got.flags);
                assertClose("acts.grad" + tag, want.grad, got.grad, ATOL_SUM, RTOL_SUM);
                assertClose("dWDec" + tag, want.dWDec, got.dWDec, ATOL_SUM, RTOL_SUM);
            }
        }
    }
}
