package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.ReluDenseParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link ReluDenseParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class ReluDenseParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void reluDenseMatchesReference(FastDevice fd, Shape s) {
        ReluDenseParity.reluDenseMatchesReference(fd, s);
    }
}
