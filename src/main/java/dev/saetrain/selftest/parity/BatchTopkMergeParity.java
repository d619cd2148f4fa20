package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.assertArrayEquals;
import static dev.saetrain.selftest.ParityAssert.assertEquals;
import static dev.saetrain.selftest.ParityAssert.assertThrows;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.StepShape;
import dev.saetrain.device.arch.BatchTopkOps;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import java.util.Arrays;
import java.util.Random;

/**
 * {@link BatchTopkOps#batchTopkMerge} against ReferenceOps' {@code batchTopk} of the whole batch: the batch's rows in
 * blocks of 1 row, of 3 rows (the last one shorter unless 3 divides the batch) and of the whole batch, each block's
 * candidates the device's own {@code batchTopk} of the block's rows with the same kTotal (at most the block's
 * entries), then the merge. The result must be the whole batch's exactly: kept count, rowPtr, entries in order and
 * the smallest kept value, with distinct values and with ties everywhere (nine levels: the tie rule by position
 * must carry over the blocks), for kTotal = k * batch, 1 and more than the positive entries. ReferenceOps' own
 * merge is held to the same.
 */
public final class BatchTopkMergeParity {

    private record Run(long r, HostActs acts, float minKept) {
    }

    /** pre [batch, nLatents]: distinct values, about 40 % positive; or (ties) nine levels, four of them positive. */
    private static float[] batch(long seed, Shape s, boolean ties) {
        int n = s.batch() * s.nLatents();
        Random r = new Random(seed);
        float[] pre = new float[n];
        int[] perm = DeviceFixtures.permutation(r, n);
        for (int q = 0; q < n; q++) {
            pre[q] = ties ? (r.nextInt(9) - 4) / 4f : (perm[q] - 0.6f * n) / 256f;
        }
        return pre;
    }

    private static Run whole(float[] pre, Shape s, long kTotal) {
        ReferenceOps ref = new ReferenceOps();
        SparseActs out = SparseActs.allocate(ref, s.batch(), (int) Math.max(1, kTotal));
        FloatBuf min = ref.allocFloat(1);
        long r = ref.batchTopk(up(ref, pre), s.step(), kTotal, out, min);
        return new Run(r, HostActs.download(ref, out), down(ref, min, 1)[0]);
    }

    /** Each block of {@code rows} rows selected on {@code dev}, then merged there. */
    private static Run blocked(Device dev, float[] pre, Shape s, long kTotal, int rows) {
        FloatBuf min = dev.allocFloat(1);
        int count = (s.batch() + rows - 1) / rows;
        SparseActs[] cand = new SparseActs[count];
        for (int j = 0; j < count; j++) {
            int first = j * rows;
            int n = Math.min(rows, s.batch() - first);
            long keep = Math.min(kTotal, (long) n * s.nLatents());
            cand[j] = SparseActs.allocate(dev, n, (int) Math.max(1, keep));
            FloatBuf block = up(dev, Arrays.copyOfRange(pre, first * s.nLatents(), (first + n) * s.nLatents()));
            dev.batchTopkOps().batchTopk(block, new StepShape(n, s.dIn(), s.nLatents()), keep, cand[j], min);
        }
        SparseActs out = SparseActs.allocate(dev, s.batch(), (int) Math.max(1, kTotal));
        long r = dev.batchTopkOps().batchTopkMerge(cand, kTotal, out, min);
        return new Run(r, HostActs.download(dev, out), down(dev, min, 1)[0]);
    }

    private static void assertSame(String tag, Run want, Run got) {
        assertEquals(want.r(), got.r(), tag + " kept entries");
        int r = (int) want.r();
        assertArrayEquals(want.acts().rowPtr(), got.acts().rowPtr(), tag + " rowPtr");
        assertArrayEquals(Arrays.copyOf(want.acts().idx(), r), Arrays.copyOf(got.acts().idx(), r),
                tag + " latents in order");
        assertArrayEquals(Arrays.copyOf(want.acts().val(), r), Arrays.copyOf(got.acts().val(), r),
                tag + " values in order");
        assertEquals(want.minKept(), got.minKept(), tag + " smallest kept value");
    }

    public static void batchTopkMergeMatchesTheWholeBatch(FastDevice fd, Shape s) {
        try (Device fast = fd.open().get()) {
            for (boolean ties : new boolean[] {false, true}) {
                float[] pre = batch(ties ? 24 : 23, s, ties);
                long pos = 0;
                for (float v : pre) {
                    pos += v > 0 ? 1 : 0;
                }
                for (long kTotal : new long[] {(long) s.k() * s.batch(), 1, pos + 5}) {
                    Run want = whole(pre, s, kTotal);
                    for (int rows : new int[] {1, 3, s.batch()}) {
                        String tag = (ties ? "ties " : "") + "kTotal " + kTotal + " blocks of " + rows;
                        assertSame(tag + " (reference)", want, blocked(new ReferenceOps(), pre, s, kTotal, rows));
                        assertSame(tag, want, blocked(fast, pre, s, kTotal, rows));
                    }
                }
            }
        }
    }

    public static void blocksThatDoNotCoverTheBatchAreRefused(FastDevice fd) {
        try (Device fast = fd.open().get()) {
            SparseActs[] cand = {SparseActs.allocate(fast, 2, 4)};
            fast.uploadInt(new int[3], 0, cand[0].rowPtr(), 0, 3);
            assertThrows(IllegalArgumentException.class, () -> fast.batchTopkOps().batchTopkMerge(cand, 4,
                    SparseActs.allocate(fast, 3, 4), fast.allocFloat(1)));
            assertThrows(IllegalArgumentException.class, () -> fast.batchTopkOps().batchTopkMerge(cand, 5,
                    SparseActs.allocate(fast, 2, 4), fast.allocFloat(1)));
        }
    }
}
