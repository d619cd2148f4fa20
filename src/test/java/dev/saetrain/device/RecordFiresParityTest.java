package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.RecordFiresParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link RecordFiresParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class RecordFiresParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void recordFiresMatchesReference(FastDevice fd, Shape s) {
        RecordFiresParity.recordFiresMatchesReference(fd, s);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void recordFiresDenseMatchesReference(FastDevice fd, Shape s) {
        RecordFiresParity.recordFiresDenseMatchesReference(fd, s);
    }
}
