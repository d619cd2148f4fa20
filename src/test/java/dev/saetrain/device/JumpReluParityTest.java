package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.JumpReluParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link JumpReluParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class JumpReluParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void jumpReluMatchesReference(FastDevice fd, Shape s) {
        JumpReluParity.jumpReluMatchesReference(fd, s);
    }
}
