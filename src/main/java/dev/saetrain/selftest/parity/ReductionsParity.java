package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.randomFlags;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.ATOL_SUM;
import static dev.saetrain.selftest.ParityAssert.RTOL_SUM;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertEquals;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.ParityAssert;
import java.util.Arrays;
import java.util.Random;

/**
 * The small reductions and elementwise ops: centeredSumSquares, addColumnSums, dot, sumSquares (with and
 * without flags), countAtOrBelow, addVecMat, addScaledRows, scaleInto (also in place), fill. Scalars that both
 * sides accumulate in double (dot, sumSquares, centeredSumSquares): relative 1e-9 plus the rounding of the
 * float products (1e-7 relative each, but they cancel on average): rtol 1e-6. Vector results that the fast
 * device sums in fp32: ParityAssert's fp32-sum tolerance; one-rounding elementwise results: a few ulps.
 */
public final class ReductionsParity {

    public static void scalarReductionsMatchReference(FastDevice fd, Shape s) {
        int b = s.batch();
        int d = s.dIn();
        int m = s.nLatents();
        float[] x = gaussian(121, b * d, 1.0);
        for (int q = 0; q < x.length; q++) {
            x[q] += 3f;   // an offset, so the centring matters
        }
        float[] y = gaussian(122, b * d, 1.0);
        float[] g = gaussian(123, m * d, 0.1);
        int[] flags = randomFlags(124, m, 0.4);
        Random r = new Random(125);
        int[] ints = new int[m];
        for (int i = 0; i < m; i++) {
            ints[i] = r.nextInt(21) - 10;
        }
        Device ref = new ReferenceOps();
        try (Device fast = fd.open().get()) {
            ParityAssert.op("centeredSumSquares");
            assertClose("centeredSumSquares", ref.centeredSumSquares(up(ref, x), b, d),
                    fast.centeredSumSquares(up(fast, x), b, d), 1e-9, 1e-6);
            ParityAssert.op("dot");
            assertClose("dot", ref.dot(up(ref, x), up(ref, y), b * d), fast.dot(up(fast, x), up(fast, y), b * d),
                    1e-9, 1e-6);
            ParityAssert.op("sumSquares");
            assertClose("sumSquares (flags)", ref.sumSquares(up(ref, g), m, d, upInt(ref, flags)),
                    fast.sumSquares(up(fast, g), m, d, upInt(fast, flags)), 1e-9, 1e-6);
            assertClose("sumSquares (no flags)", ref.sumSquares(up(ref, g), m, d, null),
                    fast.sumSquares(up(fast, g), m, d, null), 1e-9, 1e-6);
            ParityAssert.op("countAtOrBelow");
            for (int threshold : new int[] {-11, -3, 0, 10}) {
                assertEquals(ref.countAtOrBelow(upInt(ref, ints), m, threshold),
                        fast.countAtOrBelow(upInt(fast, ints), m, threshold), "countAtOrBelow " + threshold);
            }
        }
    }

    public static void vectorOpsMatchReference(FastDevice fd, Shape s) {
        int b = s.batch();
        int d = s.dIn();
        int m = s.nLatents();
        float[] x = gaussian(131, b * d, 1.0);
        float[] out0 = gaussian(132, d, 1.0);
        float[] v = gaussian(133, m, 1 / Math.sqrt(m));
        float[] w = gaussian(134, m * d, 1.0);
        float[] coef = gaussian(135, m, 0.1);
        for (int i = 0; i < m; i += 3) {
            coef[i] = 0f;   // skipped rows: flags must stay as they are
        }
        int[] flags0 = randomFlags(136, m, 0.3);
        float[] dW0 = SparseDecoderBackwardParity.startingGradient(137, flags0, m, d);
        Device ref = new ReferenceOps();
        try (Device fast = fd.open().get()) {
            ParityAssert.op("addColumnSums");
            FloatBuf ro = up(ref, out0);
            FloatBuf fo = up(fast, out0);
            ref.addColumnSums(up(ref, x), b, d, 2f / b, ro);
            fast.addColumnSums(up(fast, x), b, d, 2f / b, fo);
            assertClose("addColumnSums", down(ref, ro, d), down(fast, fo, d), ATOL_SUM, RTOL_SUM);

            ParityAssert.op("addVecMat");
            ro = up(ref, out0);
            fo = up(fast, out0);
            ref.addVecMat(up(ref, v), up(ref, w), m, d, -1f, ro);
            fast.addVecMat(up(fast, v), up(fast, w), m, d, -1f, fo);
            assertClose("addVecMat", down(ref, ro, d), down(fast, fo, d), ATOL_SUM, RTOL_SUM);

            ParityAssert.op("addScaledRows");
            FloatBuf rdw = up(ref, dW0);
            FloatBuf fdw = up(fast, dW0);
            IntBuf rf = upInt(ref, flags0);
            IntBuf ff = upInt(fast, flags0);
            ref.addScaledRows(up(ref, w), up(ref, coef), m, d, rdw, rf);
            fast.addScaledRows(up(fast, w), up(fast, coef), m, d, fdw, ff);
            int[] wantFlags = DeviceFixtures.downInt(ref, rf, m);
            ParityAssert.assertSameInts("addScaledRows flags", wantFlags, DeviceFixtures.downInt(fast, ff, m));
            assertClose("addScaledRows", ParityAssert.maskRows(down(ref, rdw, m * d), wantFlags, d),
                    ParityAssert.maskRows(down(fast, fdw, m * d), wantFlags, d), 1e-7, 1e-6);

            ParityAssert.op("scaleInto");
            FloatBuf rs = ref.allocFloat(b * d);
            FloatBuf fs = fast.allocFloat(b * d);
            ref.scaleInto(up(ref, x), rs, b * d, -0.37f);
            fast.scaleInto(up(fast, x), fs, b * d, -0.37f);
            assertClose("scaleInto", down(ref, rs, b * d), down(fast, fs, b * d), 0, 1e-7);
            FloatBuf inPlace = up(fast, x);
            fast.scaleInto(inPlace, inPlace, b * d, -0.37f);
            assertClose("scaleInto in place", down(ref, rs, b * d), down(fast, inPlace, b * d), 0, 1e-7);

            ParityAssert.op("fill");
            FloatBuf filled = up(fast, x);
            fast.fill(filled, b * d - 1, 2.5f);
            float[] wantFill = new float[b * d];
            Arrays.fill(wantFill, 2.5f);
            wantFill[b * d - 1] = x[b * d - 1];
            assertClose("fill (last element outside n)", wantFill, down(fast, filled, b * d), 0, 0);
        }
    }
}
