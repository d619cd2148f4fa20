package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.downInt;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertEquals;
import static dev.saetrain.selftest.ParityAssert.assertSameInts;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import java.util.Random;

/**
 * {@link Device#reluDenseFires}: the in-place ReLU, the count of positive entries, counts and lastFired exactly;
 * actSums (overwritten, started from garbage) as in {@link RecordFiresParity}: atol 1e-5, rtol 1e-6.
 */
public final class ReluDenseFiresParity {
    private static final int STEP = 23;

    private record Out(long fired, float[] relu, int[] counts, int[] lastFired, float[] sums) {
    }

    private static int[] randomInts(long seed, int n, int bound) {
        Random r = new Random(seed);
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextInt(bound);
        }
        return a;
    }

    private static Out run(Device dev, float[] pre, Shape s, boolean withSums) {
        int m = s.nLatents();
        FloatBuf p = up(dev, pre);
        IntBuf counts = upInt(dev, randomInts(51, m, 100));
        IntBuf last = upInt(dev, randomInts(52, m, STEP));
        FloatBuf sums = withSums ? up(dev, gaussian(53, m, 5.0)) : null;
        long fired = dev.reluDenseFires(p, s.step(), counts, last, STEP, sums);
        return new Out(fired, down(dev, p, pre.length), downInt(dev, counts, m), downInt(dev, last, m),
                withSums ? down(dev, sums, m) : null);
    }

    public static void reluDenseFiresMatchesReference(FastDevice fd, Shape s) {
        float[] pre = ReluSparseParity.reluInputs(55, s.batch(), s.nLatents());
        try (Device fast = fd.open().get()) {
            for (boolean withSums : new boolean[] {true, false}) {
                Out want = run(new ReferenceOps(), pre, s, withSums);
                Out got = run(fast, pre, s, withSums);
                assertEquals(want.fired, got.fired, "positive entries");
                assertClose("relu(pre)", want.relu, got.relu, 0, 0);
                assertSameInts("counts", want.counts, got.counts);
                assertSameInts("lastFired", want.lastFired, got.lastFired);
                if (withSums) {
                    assertClose("actSums", want.sums, got.sums, 1e-5, 1e-6);
                }
            }
        }
    }
}
