package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.SparseDecoderBackwardParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link SparseDecoderBackwardParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class SparseDecoderBackwardParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void sparseDecoderBackwardMatchesReference(FastDevice fd, Shape s) {
        SparseDecoderBackwardParity.sparseDecoderBackwardMatchesReference(fd, s);
    }
}
