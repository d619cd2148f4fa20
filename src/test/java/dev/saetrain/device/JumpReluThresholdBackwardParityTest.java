package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.JumpReluThresholdBackwardParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link JumpReluThresholdBackwardParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class JumpReluThresholdBackwardParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void thresholdGradientMatchesReference(FastDevice fd, Shape s) {
        JumpReluThresholdBackwardParity.thresholdGradientMatchesReference(fd, s);
    }
}
