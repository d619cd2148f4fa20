package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.GatedDenseParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link GatedDenseParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class GatedDenseParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void gatedDenseMatchesReference(FastDevice fd, Shape s) {
        GatedDenseParity.gatedDenseMatchesReference(fd, s);
    }
}
