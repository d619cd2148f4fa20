package dev.saetrain.device;

import static dev.saetrain.device.DeviceFixtures.down;
import static dev.saetrain.device.DeviceFixtures.up;
import static dev.saetrain.device.ParityAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.saetrain.device.DeviceFixtures.FastDevice;
import dev.saetrain.device.DeviceFixtures.Shape;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link Device#reluDense}: in-place ReLU and the count of positive entries; exact (no arithmetic). */
class ReluDenseParityTest {

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.device.DeviceFixtures#cases")
    void reluDenseMatchesReference(FastDevice fd, Shape s) {
        int n = s.batch() * s.nLatents();
        float[] pre = ReluSparseParityTest.reluInputs(31, s.batch(), s.nLatents());
        Device ref = new ReferenceOps();
        FloatBuf want = up(ref, pre);
        long wantCount = ref.reluDense(want, s.batch(), s.nLatents());
        try (Device fast = fd.open().get()) {
            FloatBuf got = up(fast, pre);
            assertEquals(wantCount, fast.reluDense(got, s.batch(), s.nLatents()), "positive entries");
            assertClose("relu(pre)", down(ref, want, n), down(fast, got, n), 0, 0);
        }
    }
}
