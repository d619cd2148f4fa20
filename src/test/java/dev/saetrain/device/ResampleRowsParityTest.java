package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.ResampleRowsParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link ResampleRowsParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class ResampleRowsParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void resampleRowsMatchesReference(FastDevice fd, Shape s) {
        ResampleRowsParity.resampleRowsMatchesReference(fd, s);
    }
}
