package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.ReductionsParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link ReductionsParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class ReductionsParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void scalarReductionsMatchReference(FastDevice fd, Shape s) {
        ReductionsParity.scalarReductionsMatchReference(fd, s);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void vectorOpsMatchReference(FastDevice fd, Shape s) {
        ReductionsParity.vectorOpsMatchReference(fd, s);
    }
}
