package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.BatchTopkMergeParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link BatchTopkMergeParity} (its Javadoc gives the cases) under JUnit, on each fast device and awkward shape. */
class BatchTopkMergeParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void batchTopkMergeMatchesTheWholeBatch(FastDevice fd, Shape s) {
        BatchTopkMergeParity.batchTopkMergeMatchesTheWholeBatch(fd, s);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#fastDevices")
    void blocksThatDoNotCoverTheBatchAreRefused(FastDevice fd) {
        BatchTopkMergeParity.blocksThatDoNotCoverTheBatchAreRefused(fd);
    }
}
