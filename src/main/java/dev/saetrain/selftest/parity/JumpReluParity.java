package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.assertArrayEquals;
import static dev.saetrain.selftest.ParityAssert.assertEquals;
import static dev.saetrain.selftest.ParityAssert.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.arch.JumpReluOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.DeviceFixtures;
import dev.saetrain.selftest.ParityAssert;
import java.util.Random;

/**
 * {@link JumpReluOps#jumpReluSparse}, {@link JumpReluOps#jumpReluDense} and {@link Device#expInto} against
 * ReferenceOps. Thresholds span latents that never fire (above every pre-activation) and ones that nearly always do;
 * the results are comparisons and copies, so they must match exactly (CSR rows list latents in increasing order).
 */
public final class JumpReluParity {

    static float[] thresholds(long seed, int nLatents) {
        Random r = new Random(seed);
        float[] t = new float[nLatents];
        for (int i = 0; i < nLatents; i++) {
            t[i] = i % 5 == 0 ? 10f : (float) Math.exp(-6 + 6 * r.nextDouble());
        }
        return t;
    }

    public static void jumpReluMatchesReference(FastDevice fd, Shape s) {
        int n = s.batch() * s.nLatents();
        float[] pre = DeviceFixtures.gaussian(31, n, 0.5);
        float[] logTh = new float[s.nLatents()];
        float[] th0 = thresholds(32, s.nLatents());
        for (int i = 0; i < logTh.length; i++) {
            logTh[i] = (float) Math.log(th0[i]);
        }
        Device ref = new ReferenceOps();
        float[] th = down(ref, expOf(ref, logTh), s.nLatents());
        SparseActs want = SparseActs.allocate(ref, s.batch(), n);
        long wantCount = ref.jumpReluOps().jumpReluSparse(up(ref, pre), up(ref, th), s.step(), want);
        HostActs w = HostActs.download(ref, want);
        assertTrue(wantCount > 0 && wantCount < n, "some but not all entries fire: " + wantCount);
        try (Device fast = fd.open().get()) {
            ParityAssert.op("expInto");
            assertArrayEquals(th, down(fast, expOf(fast, logTh), s.nLatents()), "exp(log threshold)");
            ParityAssert.op("jumpReluSparse");
            SparseActs got = SparseActs.allocate(fast, s.batch(), n);
            assertEquals(wantCount, fast.jumpReluOps().jumpReluSparse(up(fast, pre), up(fast, th), s.step(), got));
            HostActs g = HostActs.download(fast, got);
            assertArrayEquals(w.rowPtr(), g.rowPtr(), "rowPtr");
            assertArrayEquals(w.idx(), g.idx(), "idx");
            assertArrayEquals(w.val(), g.val(), "val");

            ParityAssert.op("jumpReluDense");
            FloatBuf fRef = ref.allocFloat(n);
            FloatBuf fFast = fast.allocFloat(n);
            assertEquals(wantCount, ref.jumpReluOps().jumpReluDense(up(ref, pre), up(ref, th), s.step(), fRef));
            FloatBuf preFast = up(fast, pre);
            assertEquals(wantCount, fast.jumpReluOps().jumpReluDense(preFast, up(fast, th), s.step(), fFast));
            assertArrayEquals(down(ref, fRef, n), down(fast, fFast, n), "dense f");
            assertArrayEquals(pre, down(fast, preFast, n), "pre is not modified");

            ParityAssert.op("jumpReluSparse");
            if (wantCount > 1) {
                SparseActs tooSmall = SparseActs.allocate(fast, s.batch(), (int) wantCount - 1);
                assertEquals(-1, fast.jumpReluOps().jumpReluSparse(up(fast, pre), up(fast, th), s.step(), tooSmall),
                        "overflow is reported, not written");
            }
        }
    }

    private static FloatBuf expOf(Device dev, float[] logTh) {
        FloatBuf out = dev.allocFloat(logTh.length);
        dev.expInto(up(dev, logTh), out, logTh.length);
        return out;
    }
}
