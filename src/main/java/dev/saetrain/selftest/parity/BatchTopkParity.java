package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.assertArrayEquals;
import static dev.saetrain.selftest.ParityAssert.assertEquals;
import static dev.saetrain.selftest.ParityAssert.assertThrows;
import static dev.saetrain.selftest.ParityAssert.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.arch.BatchTopkOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.DeviceFixtures;
import java.util.Arrays;
import java.util.Random;

/**
 * {@link BatchTopkOps#batchTopk} against ReferenceOps (a stable sort of every positive entry of the batch). With
 * distinct values the kept set is unique: rowPtr, the dense result and the returned threshold must match
 * exactly, for kTotal = k * batch, 1, and more than the positive entries (then every positive entry is kept).
 * With many ties the kept multiset of values must match and every kept value must be >= every dropped
 * positive one.
 */
public final class BatchTopkParity {

    /** pre [batch, nLatents] with all values distinct over the whole batch, about 40 % of them positive. */
    private static float[] distinctBatch(long seed, int batch, int nLatents) {
        int n = batch * nLatents;
        int[] perm = DeviceFixtures.permutation(new Random(seed), n);
        float[] pre = new float[n];
        for (int q = 0; q < n; q++) {
            pre[q] = (perm[q] - 0.6f * n) / 256f;
        }
        return pre;
    }

    private record Run(long r, HostActs acts, float minKept) {
    }

    private static Run run(Device dev, float[] pre, Shape s, long kTotal) {
        SparseActs out = SparseActs.allocate(dev, s.batch(), (int) Math.max(1, kTotal));
        FloatBuf min = dev.allocFloat(1);
        long r = dev.batchTopkOps().batchTopk(up(dev, pre), s.step(), kTotal, out, min);
        return new Run(r, HostActs.download(dev, out), down(dev, min, 1)[0]);
    }

    private static long positives(float[] pre) {
        long p = 0;
        for (float v : pre) {
            p += v > 0 ? 1 : 0;
        }
        return p;
    }

    public static void batchTopkMatchesReference(FastDevice fd, Shape s) {
        float[] pre = distinctBatch(21, s.batch(), s.nLatents());
        long pos = positives(pre);
        try (Device fast = fd.open().get()) {
            for (long kTotal : new long[] {(long) s.k() * s.batch(), 1, pos + 5}) {
                Run want = run(new ReferenceOps(), pre, s, kTotal);
                Run got = run(fast, pre, s, kTotal);
                String tag = "kTotal " + kTotal;
                assertEquals(Math.min(kTotal, pos), want.r(), tag + " reference count");
                assertEquals(want.r(), got.r(), tag + " kept entries");
                assertArrayEquals(want.acts().rowPtr(), got.acts().rowPtr(), tag + " rowPtr");
                assertArrayEquals(want.acts().densify(s.nLatents(), false), got.acts().densify(s.nLatents(), false),
                        tag + " kept values");
                assertEquals(want.minKept(), got.minKept(), tag + " smallest kept value");
            }
        }
        Run some = run(new ReferenceOps(), pre, s, (long) s.k() * s.batch());
        int[] perRow = new int[s.batch()];
        for (int b = 0; b < s.batch(); b++) {
            perRow[b] = some.acts().rowPtr()[b + 1] - some.acts().rowPtr()[b];
        }
        if (s.batch() > 1) {
            assertTrue(Arrays.stream(perRow).distinct().count() > 1, "rows must keep variable counts: "
                    + Arrays.toString(perRow));
        }
    }

    public static void tiesKeepTheSameMultisetOfValues(FastDevice fd, Shape s) {
        Random r = new Random(22);
        float[] pre = new float[s.batch() * s.nLatents()];
        for (int q = 0; q < pre.length; q++) {
            pre[q] = (r.nextInt(9) - 4) / 4f; // nine levels, four of them positive: ties everywhere
        }
        long kTotal = (long) s.k() * s.batch();
        Run want = run(new ReferenceOps(), pre, s, kTotal);
        try (Device fast = fd.open().get()) {
            Run got = run(fast, pre, s, kTotal);
            assertEquals(want.r(), got.r(), "kept entries");
            assertEquals(want.minKept(), got.minKept(), "smallest kept value");
            float[] a = want.acts().val().clone();
            float[] b = got.acts().val().clone();
            Arrays.sort(a);
            Arrays.sort(b);
            assertArrayEquals(a, b, "multiset of kept values");
            double[] dense = got.acts().densify(s.nLatents(), false);
            for (int q = 0; q < pre.length; q++) {
                if (dense[q] != 0) {
                    assertEquals(pre[q], dense[q], "a kept entry keeps its value");
                } else if (pre[q] > 0) {
                    assertTrue(pre[q] <= got.minKept(), "dropped " + pre[q] + " above the kept minimum " + got.minKept());
                }
            }
        }
    }

    public static void nothingPositiveKeepsNothingAndTooSmallABufferIsRefused(FastDevice fd) {
        Shape s = new Shape(3, 1, 5, 2);
        float[] pre = new float[15];
        Arrays.fill(pre, -1f);
        pre[4] = 0f;
        try (Device fast = fd.open().get()) {
            Run got = run(fast, pre, s, 6);
            assertEquals(0, got.r());
            assertArrayEquals(new int[4], got.acts().rowPtr());
            assertEquals(0f, got.minKept());
            SparseActs small = SparseActs.allocate(fast, 3, 5);
            assertThrows(IllegalArgumentException.class,
                    () -> fast.batchTopkOps().batchTopk(up(fast, pre), s.step(), 6, small, fast.allocFloat(1)));
        }
    }
}
