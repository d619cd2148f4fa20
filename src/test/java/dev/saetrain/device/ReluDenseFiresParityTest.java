package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.ReluDenseFiresParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link ReluDenseFiresParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class ReluDenseFiresParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void reluDenseFiresMatchesReference(FastDevice fd, Shape s) {
        ReluDenseFiresParity.reluDenseFiresMatchesReference(fd, s);
    }
}
