package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.SparseBackwardParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link SparseBackwardParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class SparseBackwardParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void sparseBackwardMatchesTheTwoReferenceOps(FastDevice fd, Shape s) {
        SparseBackwardParity.sparseBackwardMatchesTheTwoReferenceOps(fd, s);
    }
}
