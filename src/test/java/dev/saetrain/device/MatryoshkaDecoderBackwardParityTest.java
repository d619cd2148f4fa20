package dev.saetrain.device;

import static dev.saetrain.device.DeviceFixtures.down;
import static dev.saetrain.device.DeviceFixtures.downInt;
import static dev.saetrain.device.DeviceFixtures.gaussian;
import static dev.saetrain.device.DeviceFixtures.randomActs;
import static dev.saetrain.device.DeviceFixtures.randomFlags;
import static dev.saetrain.device.DeviceFixtures.up;
import static dev.saetrain.device.DeviceFixtures.upInt;
import static dev.saetrain.device.ParityAssert.ATOL_SUM;
import static dev.saetrain.device.ParityAssert.RTOL_SUM;
import static dev.saetrain.device.ParityAssert.assertClose;
import static dev.saetrain.device.ParityAssert.assertSameInts;
import static dev.saetrain.device.ParityAssert.maskRows;

import dev.saetrain.device.DeviceFixtures.FastDevice;
import dev.saetrain.device.DeviceFixtures.HostActs;
import dev.saetrain.device.DeviceFixtures.Shape;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Device#matryoshkaDecoderBackward} against ReferenceOps for the groupings of
 * {@link MatryoshkaDecodeParityTest#groupings}, on a random residSuffix [groups, batch, dIn] (the op reads it as
 * given). As in SparseDecoderBackwardParityTest, a fifth of the rows of dWDec start flagged with a gradient in them
 * and the rest as garbage; acts.grad per entry, dWDec on flagged rows and the flags are compared. With one group the
 * op must agree with {@link Device#sparseDecoderBackward} on err = residSuffix.
 */
class MatryoshkaDecoderBackwardParityTest {

    private record Out(float[] grad, float[] dWDec, int[] flags) {
    }

    private static Out run(Device dev, HostActs acts, float[] suffix, int[] ends, float[] wDec, float[] dW0,
                           int[] flags0, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        SparseActs a = acts.upload(dev);
        FloatBuf dW = up(dev, dW0);
        IntBuf flags = upInt(dev, flags0);
        dev.matryoshkaDecoderBackward(a, up(dev, suffix), upInt(dev, ends), ends.length, 2f / s.batch(), up(dev, wDec),
                s.batch(), d, m, dW, flags);
        return out(dev, a, dW, flags, acts.nnz(), s);
    }

    private static Out out(Device dev, SparseActs a, FloatBuf dW, IntBuf flags, int nnz, Shape s) {
        int[] f = downInt(dev, flags, s.nLatents());
        return new Out(down(dev, a.grad(), Math.max(1, nnz)), maskRows(down(dev, dW, s.nLatents() * s.dIn()), f, s.dIn()), f);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.device.DeviceFixtures#cases")
    void matryoshkaDecoderBackwardMatchesReference(FastDevice fd, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        HostActs acts = randomActs(101, s.batch(), m, Math.max(2, s.k()));
        float[] wDec = gaussian(102, m * d, 1 / Math.sqrt(d));
        int[] flags0 = randomFlags(103, m, 0.2);
        float[] dW0 = SparseDecoderBackwardParityTest.startingGradient(104, flags0, m, d);
        try (Device fast = fd.open().get()) {
            for (int[] ends : MatryoshkaDecodeParityTest.groupings(m)) {
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
                    fast.sparseDecoderBackward(a, up(fast, suffix), 2f / s.batch(), up(fast, wDec), null, s.batch(), d,
                            m, dW, flags);
                    Out plain = out(fast, a, dW, flags, acts.nnz(), s);
                    assertClose("one group = sparseDecoderBackward: acts.grad", plain.grad, got.grad, ATOL_SUM, RTOL_SUM);
                    assertClose("one group = sparseDecoderBackward: dWDec", plain.dWDec, got.dWDec, ATOL_SUM, RTOL_SUM);
                }
            }
        }
    }
}
