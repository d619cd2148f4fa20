package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.distinctRows;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.assertEquals;
import static dev.saetrain.selftest.ParityAssert.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SparseActs;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.ParityAssert;
import java.util.Arrays;
import java.util.Random;

/**
 * {@link Device#topk}, with and without the dead filter (AuxK). Pre-activations have no ties within a row, so
 * the picked set is unique; rows are shifted so that some have every candidate negative (all k picks of
 * value 0) and some have fewer than k positive candidates. Compared per row as the set of (index, value)
 * pairs, values exactly (both are max(0, the same float)).
 */
public final class TopkParity {

    private static float[] shifts(int batch, int nLatents, int k) {
        float half = nLatents / 128f;
        float[] shift = new float[batch];
        for (int b = 0; b < batch; b++) {
            shift[b] = switch (b % 3) {
                case 0 -> 0f;                              // about half positive
                case 1 -> -half - 1f;                      // all negative: every pick is 0
                default -> -half + (k / 2) / 64f;          // about k/2 positive among the top k
            };
        }
        if (batch == 1) {
            shift[0] = -half - 1f;
        }
        return shift;
    }

    private static HostActs run(Device dev, float[] pre, Shape s, int k, int[] lastFired, int deadBefore) {
        SparseActs out = SparseActs.allocate(dev, s.batch(), s.batch() * k);
        dev.topk(up(dev, pre), s.step(), k, lastFired == null ? null : upInt(dev, lastFired),
                deadBefore, out);
        return HostActs.download(dev, out);
    }

    /** Row b's picks as sorted "index:valueBits" strings: a set, whatever order the device wrote. */
    private static String rowSet(HostActs a, int b) {
        String[] items = new String[a.rowPtr()[b + 1] - a.rowPtr()[b]];
        for (int e = a.rowPtr()[b]; e < a.rowPtr()[b + 1]; e++) {
            items[e - a.rowPtr()[b]] = a.idx()[e] + ":" + a.val()[e];
        }
        Arrays.sort(items);
        return String.join(" ", items);
    }

    private static void assertSameSets(HostActs want, HostActs got, int k) {
        for (int b = 0; b <= want.batch(); b++) {
            assertEquals(b * k, got.rowPtr()[b], "rowPtr[" + b + "]");
        }
        for (int b = 0; b < want.batch(); b++) {
            assertEquals(rowSet(want, b), rowSet(got, b), "row " + b + " picks (index:value)");
        }
    }

    public static void topkMatchesReference(FastDevice fd, Shape s) {
        float[] pre = distinctRows(11, s.batch(), s.nLatents(), shifts(s.batch(), s.nLatents(), s.k()));
        HostActs want = run(new ReferenceOps(), pre, s, s.k(), null, 0);
        try (Device fast = fd.open().get()) {
            assertSameSets(want, run(fast, pre, s, s.k(), null, 0), s.k());
        }
        long zeros = 0;
        for (float v : want.val()) {
            zeros += v == 0f ? 1 : 0;
        }
        assertTrue(zeros > 0, "the inputs must include picks of value 0");
    }

    public static void topkWithDeadFilterMatchesReference(FastDevice fd, Shape s) {
        int m = s.nLatents();
        Random r = new Random(12);
        int[] lastFired = new int[m];
        for (int i = 0; i < m; i++) {
            lastFired[i] = r.nextInt(10);
        }
        int deadBefore = 4;
        int dead = new ReferenceOps().countAtOrBelow(upInt(new ReferenceOps(), lastFired), m, deadBefore);
        // The caller clamps k to the number of dead latents; also try exactly all of them.
        float[] pre = distinctRows(13, s.batch(), m, shifts(s.batch(), m, s.k()));
        try (Device fast = fd.open().get()) {
            ParityAssert.op("countAtOrBelow");
            assertEquals(dead, fast.countAtOrBelow(upInt(fast, lastFired), m, deadBefore), "countAtOrBelow");
            ParityAssert.op("topk");
            for (int k : new int[] {Math.min(s.k(), dead), dead}) {
                HostActs want = run(new ReferenceOps(), pre, s, k, lastFired, deadBefore);
                HostActs got = run(fast, pre, s, k, lastFired, deadBefore);
                assertSameSets(want, got, k);
                for (int i : got.idx()) {
                    assertTrue(lastFired[i] <= deadBefore, "picked live latent " + i);
                }
            }
        }
    }

    /**
     * Rows at a production width (24,576 latents: CUDA keeps a row's keys in shared memory) and rows wider than
     * any GPU's shared memory holds (60,001 latents, 240 KB: CUDA reads them from global memory every pass), with
     * and without the dead filter; k = 64 and a k past one radix bucket (1,000).
     */
    public static void wideRowsMatchReference(FastDevice fd) {
        Random r = new Random(14);
        for (int m : new int[] {24_576, 60_001}) {
            Shape s = new Shape(3, 1, m, 64);
            float[] pre = distinctRows(15, s.batch(), m, shifts(s.batch(), m, s.k()));
            int[] lastFired = new int[m];
            for (int i = 0; i < m; i++) {
                lastFired[i] = r.nextInt(10);
            }
            try (Device fast = fd.open().get()) {
                for (int k : new int[] {64, 1_000}) {
                    for (int[] dead : new int[][] {null, lastFired}) {
                        HostActs want = run(new ReferenceOps(), pre, s, k, dead, 4);
                        assertSameSets(want, run(fast, pre, s, k, dead, 4), k);
                    }
                }
            }
        }
    }
}
