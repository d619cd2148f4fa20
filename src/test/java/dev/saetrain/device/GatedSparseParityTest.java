package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.GatedSparseParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link GatedSparseParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class GatedSparseParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void gatedSparseMatchesReference(FastDevice fd, Shape s) {
        GatedSparseParity.gatedSparseMatchesReference(fd, s);
    }
}
