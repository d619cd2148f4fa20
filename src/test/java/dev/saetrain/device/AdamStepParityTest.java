package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.AdamStepParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link AdamStepParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class AdamStepParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void adamStepMatchesReference(FastDevice fd, Shape s) {
        AdamStepParity.adamStepMatchesReference(fd, s);
    }
}
