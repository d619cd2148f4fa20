package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.BatchTopkParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link BatchTopkParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class BatchTopkParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void batchTopkMatchesReference(FastDevice fd, Shape s) {
        BatchTopkParity.batchTopkMatchesReference(fd, s);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void tiesKeepTheSameMultisetOfValues(FastDevice fd, Shape s) {
        BatchTopkParity.tiesKeepTheSameMultisetOfValues(fd, s);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#fastDevices")
    void nothingPositiveKeepsNothingAndTooSmallABufferIsRefused(FastDevice fd) {
        BatchTopkParity.nothingPositiveKeepsNothingAndTooSmallABufferIsRefused(fd);
    }
}
