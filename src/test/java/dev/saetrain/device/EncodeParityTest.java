package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.EncodeParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link EncodeParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class EncodeParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void encodeMatchesReference(FastDevice fd, Shape s) {
        EncodeParity.encodeMatchesReference(fd, s);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void gemmNTMatchesReference(FastDevice fd, Shape s) {
        EncodeParity.gemmNTMatchesReference(fd, s);
    }
}
