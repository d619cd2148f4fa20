package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.MatryoshkaDecoderBackwardParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link MatryoshkaDecoderBackwardParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class MatryoshkaDecoderBackwardParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void matryoshkaDecoderBackwardMatchesReference(FastDevice fd, Shape s) {
        MatryoshkaDecoderBackwardParity.matryoshkaDecoderBackwardMatchesReference(fd, s);
    }
}
