package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.downInt;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertEquals;
import static dev.saetrain.selftest.ParityAssert.assertSameInts;
import static dev.saetrain.selftest.ParityAssert.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SparseActs;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import java.util.Arrays;

/**
 * {@link Device#reluSparse}: the positive entries of pre, per row, in CSR. Rows b % 4 == 1 have no
 * positive entry; the others about 7 % (pre ~ N(-1.5, 1)). Compared densified (entry order within a row is
 * free), values exactly; rowPtr exactly. Capacity one short of the count must return -1 and leave idx and val
 * as they were.
 */
public final class ReluSparseParity {

    static float[] reluInputs(long seed, int batch, int nLatents) {
        float[] pre = gaussian(seed, batch * nLatents, 1.0);
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < nLatents; i++) {
                int q = b * nLatents + i;
                pre[q] = b % 4 == 1 ? -Math.abs(pre[q]) - 0.01f : pre[q] - 1.5f;
            }
        }
        return pre;
    }

    private record Out(long nnz, HostActs acts) {
    }

    private static Out run(Device dev, float[] pre, Shape s, int capacity) {
        SparseActs out = SparseActs.allocate(dev, s.batch(), capacity);
        long nnz = dev.reluSparse(up(dev, pre), s.step(), out);
        return new Out(nnz, nnz < 0 ? null : HostActs.download(dev, out));
    }

    public static void reluSparseMatchesReference(FastDevice fd, Shape s) {
        int m = s.nLatents();
        float[] pre = reluInputs(21, s.batch(), m);
        Out want = run(new ReferenceOps(), pre, s, s.batch() * m);
        assertTrue(want.nnz > 0, "inputs need some positive entries");
        try (Device fast = fd.open().get()) {
            for (int capacity : new int[] {s.batch() * m, (int) want.nnz}) {
                Out got = run(fast, pre, s, capacity);
                assertEquals(want.nnz, got.nnz, "entries (capacity " + capacity + ")");
                assertSameInts("rowPtr", want.acts.rowPtr(), got.acts.rowPtr());
                assertClose("values, densified", want.acts.densify(m, false), got.acts.densify(m, false), 0, 0);
            }
        }
    }

    public static void overflowReturnsMinusOneAndLeavesEntries(FastDevice fd, Shape s) {
        int m = s.nLatents();
        float[] pre = reluInputs(22, s.batch(), m);
        long nnz = run(new ReferenceOps(), pre, s, s.batch() * m).nnz;
        int capacity = (int) nnz - 1;
        int[] idxBefore = new int[capacity];
        Arrays.fill(idxBefore, -7);
        float[] valBefore = new float[capacity];
        Arrays.fill(valBefore, -3f);
        for (Device dev : new Device[] {new ReferenceOps(), fd.open().get()}) {
            try (dev) {
                SparseActs out = SparseActs.allocate(dev, s.batch(), capacity);
                dev.uploadInt(idxBefore, 0, out.idx(), 0, capacity);
                dev.upload(valBefore, 0, out.val(), 0, capacity);
                assertEquals(-1, dev.reluSparse(up(dev, pre), s.step(), out), dev.describe());
                assertSameInts("idx after overflow", idxBefore, downInt(dev, out.idx(), capacity));
                assertClose("val after overflow", valBefore, down(dev, out.val(), capacity), 0, 0);
            }
        }
    }
}
