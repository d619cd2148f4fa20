package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.DenseDecodeParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link DenseDecodeParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class DenseDecodeParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void denseDecodeMatchesReference(FastDevice fd, Shape s) {
        DenseDecodeParity.denseDecodeMatchesReference(fd, s);
    }
}
