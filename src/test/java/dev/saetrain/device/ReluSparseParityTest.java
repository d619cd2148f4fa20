package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.ReluSparseParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link ReluSparseParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class ReluSparseParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void reluSparseMatchesReference(FastDevice fd, Shape s) {
        ReluSparseParity.reluSparseMatchesReference(fd, s);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void overflowReturnsMinusOneAndLeavesEntries(FastDevice fd, Shape s) {
        ReluSparseParity.overflowReturnsMinusOneAndLeavesEntries(fd, s);
    }
}
