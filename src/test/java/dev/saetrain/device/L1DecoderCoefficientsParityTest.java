package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.L1DecoderCoefficientsParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link L1DecoderCoefficientsParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class L1DecoderCoefficientsParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void l1DecoderCoefficientsMatchReference(FastDevice fd, Shape s) {
        L1DecoderCoefficientsParity.l1DecoderCoefficientsMatchReference(fd, s);
    }
}
