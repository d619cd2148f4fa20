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
import dev.saetrain.device.arch.MatryoshkaOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import java.util.Arrays;

/**
 * {@link MatryoshkaOps#matryoshkaDecoderBackward} against ReferenceOps for the groupings of
 * {@link MatryoshkaDecodeParity#groupings}, on a random residSuffix [groups, batch, dIn] (the op reads it as
 * given). As in SparseDecoderBackwardParity, a fifth of the rows of dWDec start flagged with a gradient in them
 * and the rest as garbage; acts.grad per entry, dWDec on flagged rows and the flags are compared. With one group the
 * op must agree with {@link Device#sparseDecoderBackward} on err = residSuffix.
 */
public final class MatryoshkaDecoderBackwardParity {

    private record Out(float[] grad, float[] dWDec, int[] flags) {
    }

    private static Out run(Device dev, HostActs acts, float[] suffix, int[] ends, float[] wDec, float[] dW0,
                           int[] flags0, Shape s) {
        SparseActs a = acts.upload(dev);
        FloatBuf dW = up(dev, dW0);
        IntBuf flags = upInt(dev, flags0);
        dev.matryoshkaOps().matryoshkaDecoderBackward(a, new MatryoshkaOps.Groups(upInt(dev, ends), ends.length,
                up(dev, suffix)), 2f / s.batch(), up(dev, wDec), s.step(), dW, flags);
        return out(dev, a, dW, flags, acts.nnz(), s);
    }

    private static Out out(Device dev, SparseActs a, FloatBuf dW, IntBuf flags, int nnz, Shape s) {
        int[] f = downInt(dev, flags, s.nLatents());
        return new Out(down(dev, a.grad(), Math.max(1, nnz)), maskRows(down(dev, dW, s.nLatents() * s.dIn()), f, s.dIn()), f);
    }

    public static void matryoshkaDecoderBackwardMatchesReference(FastDevice fd, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        HostActs acts = randomActs(101, s.batch(), m, Math.max(2, s.k()));
        float[] wDec = gaussian(102, m * d, 1 / Math.sqrt(d));
        int[] flags0 = randomFlags(103, m, 0.2);
        float[] dW0 = SparseDecoderBackwardParity.startingGradient(104, flags0, m, d);
        try (Device fast = fd.open().get()) {
            for (int[] ends : MatryoshkaDecodeParity.groupings(m)) {
                String tag = " groups " + Arrays.toString(ends);
                float[] suffix = gaussian(105 + ends.length, ends.length * s.batch() * d, 1.0);
                Out want = run(new ReferenceOps(), acts, suffix, ends, wDec, dW0, flags0, s);
                Out got = run(fast, acts, suffix, ends, wDec, dW0, flags0, s);
                assertSameInts("rowActive" + tag, want.flags, got.flags);
                assertClose("acts.grad" + tag, want.grad, got.grad, ATOL_SUM, RTOL_SUM);
                assertClose("dWDec" + tag, want.dWDec, got.dWDec, ATOL_SUM, RTOL_SUM);
                if (ends.length == 1) {
                    SparseActs a = acts.upload(fast);
                    FloatBuf dW = up(fast, dW0);
                    IntBuf flags = upInt(fast, flags0);
                    fast.sparseDecoderBackward(a, up(fast, suffix), 2f / s.batch(), up(fast, wDec), null, s.step(),
                            dW, flags);
                    Out plain = out(fast, a, dW, flags, acts.nnz(), s);
                    assertClose("one group = sparseDecoderBackward: acts.grad", plain.grad, got.grad, ATOL_SUM, RTOL_SUM);
                    assertClose("one group = sparseDecoderBackward: dWDec", plain.dWDec, got.dWDec, ATOL_SUM, RTOL_SUM);
                }
            }
        }
    }
}
