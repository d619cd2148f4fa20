package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.ZeroRowsParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link ZeroRowsParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class ZeroRowsParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void zeroRowsMatchesReference(FastDevice fd, Shape s) {
        ZeroRowsParity.zeroRowsMatchesReference(fd, s);
    }
}
