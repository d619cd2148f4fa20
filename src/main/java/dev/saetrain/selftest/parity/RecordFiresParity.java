package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.downInt;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.randomActs;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertSameInts;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.HostActs;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import java.util.Random;

/**
 * {@link Device#recordFires} and {@link Device#recordFiresDense}: counts and lastFired exactly; actSums
 * (overwritten, started from garbage here) within fp32 summation of at most 33 O(1) values: atol 1e-5,
 * rtol 1e-6. Value-0 entries must not fire.
 */
public final class RecordFiresParity {
    private static final int STEP = 17;

    private record Out(int[] counts, int[] lastFired, float[] sums) {
    }

    private static int[] randomInts(long seed, int n, int bound) {
        Random r = new Random(seed);
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextInt(bound);
        }
        return a;
    }

    private static Out run(Device dev, HostActs acts, float[] dense, Shape s, boolean withSums) {
        int m = s.nLatents();
        IntBuf counts = upInt(dev, randomInts(41, m, 100));
        IntBuf last = upInt(dev, randomInts(42, m, STEP));
        FloatBuf sums = withSums ? up(dev, gaussian(43, m, 5.0)) : null;
        if (dense == null) {
            dev.recordFires(acts.upload(dev), m, counts, last, STEP, sums);
        } else {
            dev.recordFiresDense(up(dev, dense), s.step(), counts, last, STEP, sums);
        }
        return new Out(downInt(dev, counts, m), downInt(dev, last, m), withSums ? down(dev, sums, m) : null);
    }

    private static void compare(Out want, Out got) {
        assertSameInts("counts", want.counts, got.counts);
        assertSameInts("lastFired", want.lastFired, got.lastFired);
        if (want.sums != null) {
            assertClose("actSums", want.sums, got.sums, 1e-5, 1e-6);
        }
    }

    public static void recordFiresMatchesReference(FastDevice fd, Shape s) {
        HostActs acts = randomActs(44, s.batch(), s.nLatents(), Math.max(1, s.k()));
        try (Device fast = fd.open().get()) {
            for (boolean withSums : new boolean[] {true, false}) {
                compare(run(new ReferenceOps(), acts, null, s, withSums), run(fast, acts, null, s, withSums));
            }
        }
    }

    public static void recordFiresDenseMatchesReference(FastDevice fd, Shape s) {
        float[] f = ReluSparseParity.reluInputs(45, s.batch(), s.nLatents());
        for (int q = 0; q < f.length; q++) {
            f[q] = Math.max(0f, f[q]);
        }
        try (Device fast = fd.open().get()) {
            for (boolean withSums : new boolean[] {true, false}) {
                compare(run(new ReferenceOps(), null, f, s, withSums), run(fast, null, f, s, withSums));
            }
        }
    }
}
