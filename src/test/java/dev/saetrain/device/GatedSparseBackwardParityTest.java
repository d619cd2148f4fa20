package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.GatedSparseBackwardParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link GatedSparseBackwardParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class GatedSparseBackwardParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void gatedSparseBackwardMatchesReference(FastDevice fd, Shape s) {
        GatedSparseBackwardParity.gatedSparseBackwardMatchesReference(fd, s);
    }
}
