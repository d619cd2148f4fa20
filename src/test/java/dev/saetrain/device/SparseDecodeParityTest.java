package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.SparseDecodeParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link SparseDecodeParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class SparseDecodeParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void sparseDecodeMatchesReference(FastDevice fd, Shape s) {
        SparseDecodeParity.sparseDecodeMatchesReference(fd, s);
    }
}
