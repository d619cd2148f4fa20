package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.TopkParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link TopkParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class TopkParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void topkMatchesReference(FastDevice fd, Shape s) {
        TopkParity.topkMatchesReference(fd, s);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void topkWithDeadFilterMatchesReference(FastDevice fd, Shape s) {
        TopkParity.topkWithDeadFilterMatchesReference(fd, s);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#fastDevices")
    void wideRowsMatchReference(FastDevice fd) {
        TopkParity.wideRowsMatchReference(fd);
    }
}
