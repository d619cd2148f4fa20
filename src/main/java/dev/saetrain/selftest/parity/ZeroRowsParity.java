package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.DeviceFixtures.upInt;
import static dev.saetrain.selftest.ParityAssert.assertArrayEquals;
import static dev.saetrain.selftest.ParityAssert.assertEquals;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.DeviceFixtures;
import java.util.Arrays;
import java.util.Random;

/**
 * {@link Device#zeroRows} against {@link ReferenceOps}, exactly (no arithmetic): a random quarter of the rows
 * of an [nLatents, dIn] and an [nLatents, 1] buffer (Adam moments of W and b_enc) are zeroed, the rest kept.
 */
public final class ZeroRowsParity {

    public static void zeroRowsMatchesReference(FastDevice fd, Shape s) {
        int m = s.nLatents();
        int count = Math.max(1, m / 4);
        int[] rows = Arrays.copyOf(DeviceFixtures.permutation(new Random(131), m), count);
        Device ref = new ReferenceOps();
        try (Device fast = fd.open().get()) {
            for (int cols : new int[] {s.dIn(), 1}) {
                float[] a = gaussian(132, m * cols, 1.0);
                FloatBuf rb = up(ref, a);
                FloatBuf fb = up(fast, a);
                ref.zeroRows(rb, upInt(ref, rows), count, cols);
                fast.zeroRows(fb, upInt(fast, rows), count, cols);
                float[] want = down(ref, rb, m * cols);
                assertArrayEquals(want, down(fast, fb, m * cols), "zeroRows cols=" + cols);
                int zeroed = 0;
                for (int i = 0; i < m; i++) {
                    boolean allZero = true;
                    for (int j = 0; j < cols; j++) {
                        allZero &= want[i * cols + j] == 0f;
                    }
                    zeroed += allZero ? 1 : 0;
                }
                assertEquals(count, zeroed, "the reference zeroes exactly the listed rows");
            }
        }
    }
}
