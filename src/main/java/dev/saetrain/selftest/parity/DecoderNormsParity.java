package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.randomFlags;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.maskRows;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.ParityAssert;
import java.util.Arrays;

/**
 * The unit-norm decoder ops: {@link Device#rowNorms}, {@link Device#projectOutParallel} (flagged rows only)
 * and {@link Device#normalizeRows} (rows of norm 0 left as they are). Rows 0 and 3 of w are zero. Norms and
 * normalised rows are a sum of d <= 769 squares then one division: atol 1e-6, rtol 1e-5. The projection's
 * result is O(1) from a dot product of length d: ParityAssert's fp32-sum tolerance.
 */
public final class DecoderNormsParity {

    private static float[] weights(long seed, int rows, int cols, double std) {
        float[] w = gaussian(seed, rows * cols, std);
        for (int i : new int[] {0, 3}) {
            if (i < rows) {
                Arrays.fill(w, i * cols, (i + 1) * cols, 0f);
            }
        }
        return w;
    }

    public static void rowNormsAndNormalizeMatchReference(FastDevice fd, Shape s) {
        int m = s.nLatents();
        int d = s.dIn();
        float[] w = weights(111, m, d, 0.3);
        Device ref = new ReferenceOps();
        try (Device fast = fd.open().get()) {
            FloatBuf rn = ref.allocFloat(m);
            FloatBuf fn = fast.allocFloat(m);
            ref.rowNorms(up(ref, w), m, d, rn);
            fast.rowNorms(up(fast, w), m, d, fn);
            assertClose("rowNorms", down(ref, rn, m), down(fast, fn, m), 1e-6, 1e-5);
            ParityAssert.op("normalizeRows");
            FloatBuf rw = up(ref, w);
            FloatBuf fw = up(fast, w);
            ref.normalizeRows(rw, m, d);
            fast.normalizeRows(fw, m, d);
            float[] want = down(ref, rw, m * d);
            assertClose("normalizeRows", want, down(fast, fw, m * d), 1e-6, 1e-5);
            assertClose("zero row stays zero", new float[d], Arrays.copyOfRange(want, 0, d), 0, 0);
        }
    }

    public static void projectOutParallelMatchesReference(FastDevice fd, Shape s) {
        int m = s.nLatents();
        int d = s.dIn();
        Device ref = new ReferenceOps();
        FloatBuf unit = up(ref, weights(112, m, d, 1.0));
        ref.normalizeRows(unit, m, d);
        float[] w = down(ref, unit, m * d);
        float[] g = gaussian(113, m * d, 1 / Math.sqrt(d));
        int[] flags = randomFlags(114, m, 0.6);
        try (Device fast = fd.open().get()) {
            FloatBuf rg = up(ref, g);
            FloatBuf fg = up(fast, g);
            ref.projectOutParallel(up(ref, w), rg, m, d, upInt(ref, flags));
            fast.projectOutParallel(up(fast, w), fg, m, d, upInt(fast, flags));
            float[] want = maskRows(down(ref, rg, m * d), flags, d);
            assertClose("projectOutParallel", want, maskRows(down(fast, fg, m * d), flags, d),
                    ParityAssert.ATOL_SUM, ParityAssert.RTOL_SUM);
            // The reference's result is orthogonal to each unit row (a check of the reference itself).
            for (int i = 1; i < m; i++) {
                double dot = 0;
                for (int j = 0; j < d; j++) {
                    dot += (double) want[i * d + j] * w[i * d + j];
                }
                if (flags[i] != 0 && i != 3 && Math.abs(dot) > 1e-6) {
                    throw new AssertionError("row " + i + " keeps a parallel component " + dot);
                }
            }
        }
    }
}
