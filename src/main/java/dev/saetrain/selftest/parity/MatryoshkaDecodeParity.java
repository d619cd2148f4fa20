package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.randomActs;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.ATOL_SUM;
import static dev.saetrain.selftest.ParityAssert.RTOL_SUM;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertThrows;
import static dev.saetrain.selftest.ParityAssert.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;
import dev.saetrain.device.arch.MatryoshkaOps;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.ParityAssert;
import java.util.Arrays;
import java.util.List;

/**
 * {@link MatryoshkaOps#matryoshkaDecode} (Bussmann et al. 2025) against ReferenceOps, which decodes every prefix from
 * scratch, for three groupings per shape: one group (the plain decode), three groups with a first group of one
 * latent, and five doubling prefixes (the default shape). xHat, err and every slab of residSuffix within
 * ParityAssert's fp32-sum tolerance; the per-prefix sums of squares (accumulated in double) relative 1e-5. With
 * one group the op must agree with {@link Device#sparseDecode} and its residSuffix is err.
 */
public final class MatryoshkaDecodeParity {

    private record Out(double[] sse, float[] xHat, float[] err, float[] suffix) {
    }

    /** Group ends to test for m latents: [m]; [1, m/3, m]; [m/16, m/8, m/4, m/2, m]. */
    static List<int[]> groupings(int m) {
        return List.of(new int[] {m}, new int[] {1, m / 3, m}, new int[] {m / 16, m / 8, m / 4, m / 2, m});
    }

    private static Out run(Device dev, HostActs acts, float[] wDec, float[] bDec, float[] target, int[] ends, Shape s) {
        int n = s.batch() * s.dIn();
        FloatBuf xHat = dev.allocFloat(n);
        FloatBuf err = dev.allocFloat(n);
        FloatBuf suffix = dev.allocFloat((long) ends.length * n);
        double[] sse = dev.matryoshkaOps().matryoshkaDecode(acts.upload(dev), up(dev, wDec), up(dev, bDec),
                up(dev, target), new MatryoshkaOps.Groups(upInt(dev, ends), ends.length, suffix), s.step(), xHat, err);
        return new Out(sse, down(dev, xHat, n), down(dev, err, n), down(dev, suffix, ends.length * n));
    }

    public static void matryoshkaDecodeMatchesReference(FastDevice fd, Shape s) {
        int d = s.dIn();
        int m = s.nLatents();
        HostActs acts = randomActs(81, s.batch(), m, Math.max(2, s.k()));
        float[] wDec = gaussian(82, m * d, 1 / Math.sqrt(d));
        float[] bDec = gaussian(83, d, 0.5);
        float[] target = gaussian(84, s.batch() * d, 1.0);
        try (Device fast = fd.open().get()) {
            for (int[] ends : groupings(m)) {
                String tag = " groups " + Arrays.toString(ends);
                Out want = run(new ReferenceOps(), acts, wDec, bDec, target, ends, s);
                Out got = run(fast, acts, wDec, bDec, target, ends, s);
                assertClose("xHat" + tag, want.xHat, got.xHat, ATOL_SUM, RTOL_SUM);
                assertClose("err" + tag, want.err, got.err, ATOL_SUM, RTOL_SUM);
                assertClose("residSuffix" + tag, want.suffix, got.suffix, ATOL_SUM, RTOL_SUM);
                assertClose("sum err_g^2" + tag, want.sse, got.sse, 0, 1e-5);
                if (ends.length == 1) {
                    FloatBuf xh = fast.allocFloat(s.batch() * d);
                    FloatBuf er = fast.allocFloat(s.batch() * d);
                    double sse = fast.sparseDecode(acts.upload(fast), up(fast, wDec), up(fast, bDec), up(fast, target),
                            s.step(), xh, er);
                    assertClose("one group = sparseDecode: sse", sse, got.sse[0], 0, 1e-5);
                    assertClose("one group = sparseDecode: err", down(fast, er, s.batch() * d), got.err, ATOL_SUM, RTOL_SUM);
                    assertClose("one group: residSuffix = err", got.err, got.suffix, 0, 0);
                }
            }
        }
    }

    /** More groups can only add latents: on a row whose latents all sit in the last group, the inner prefixes are b_dec. */
    public static void innerPrefixesWithoutTheirLatentsReconstructBDecAlone() {
        int d = 5;
        int m = 8;
        int[] rowPtr = {0, 2};
        int[] idx = {6, 7};
        float[] val = {1.5f, 0.5f};
        float[] wDec = gaussian(91, m * d, 1.0);
        float[] bDec = gaussian(92, d, 1.0);
        float[] x = gaussian(93, d, 1.0);
        int[] ends = {2, 4, 8};
        try (Device dev = new CpuDevice(1)) {
            FloatBuf xHat = dev.allocFloat(d);
            FloatBuf err = dev.allocFloat(d);
            FloatBuf suffix = dev.allocFloat(3L * d);
            double[] sse = dev.matryoshkaOps().matryoshkaDecode(DeviceFixtures.upActs(dev, rowPtr, idx, val, null, 2),
                    up(dev, wDec), up(dev, bDec), up(dev, x), new MatryoshkaOps.Groups(upInt(dev, ends), 3, suffix),
                    new StepShape(1, d, m), xHat, err);
            double bOnly = 0;
            for (int j = 0; j < d; j++) {
                bOnly += (double) (bDec[j] - x[j]) * (bDec[j] - x[j]);
            }
            assertClose("prefix 0", bOnly, sse[0], 0, 1e-6);
            assertClose("prefix 1", bOnly, sse[1], 0, 1e-6);
            assertTrue(sse[2] != sse[1], "the last prefix holds the row's latents");
        }
    }

    public static void refusesGroupEndsThatDoNotPartitionTheLatents() {
        try (Device dev = new CpuDevice(1)) {
            for (int[] ends : new int[][] {{4, 4, 8}, {0, 8}, {3, 7}}) {
                FloatBuf buf = dev.allocFloat(3L * 4 * 8);
                assertThrows(IllegalArgumentException.class, () -> dev.matryoshkaOps().matryoshkaDecode(
                        SparseActs.allocate(dev, 1, 1), dev.allocFloat(8 * 4), dev.allocFloat(4), dev.allocFloat(4),
                        new MatryoshkaOps.Groups(upInt(dev, ends), ends.length, buf), new StepShape(1, 4, 8),
                        dev.allocFloat(4), dev.allocFloat(4)),
                        Arrays.toString(ends));
            }
        }
    }
}
