package dev.saetrain.selftest.parity;

import static dev.saetrain.selftest.DeviceFixtures.down;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static dev.saetrain.selftest.ParityAssert.assertClose;
import static dev.saetrain.selftest.ParityAssert.assertEquals;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;

/** {@link Device#reluDense}: in-place ReLU and the count of positive entries; exact (no arithmetic). */
public final class ReluDenseParity {

    public static void reluDenseMatchesReference(FastDevice fd, Shape s) {
        int n = s.batch() * s.nLatents();
        float[] pre = ReluSparseParity.reluInputs(31, s.batch(), s.nLatents());
        Device ref = new ReferenceOps();
        FloatBuf want = up(ref, pre);
        long wantCount = ref.reluDense(want, s.step());
        try (Device fast = fd.open().get()) {
            FloatBuf got = up(fast, pre);
            assertEquals(wantCount, fast.reluDense(got, s.step()), "positive entries");
            assertClose("relu(pre)", down(ref, want, n), down(fast, got, n), 0, 0);
        }
    }
}
