package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.MatryoshkaDecodeParity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link MatryoshkaDecodeParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class MatryoshkaDecodeParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void matryoshkaDecodeMatchesReference(FastDevice fd, Shape s) {
        MatryoshkaDecodeParity.matryoshkaDecodeMatchesReference(fd, s);
    }

    @Test
    void innerPrefixesWithoutTheirLatentsReconstructBDecAlone() {
        MatryoshkaDecodeParity.innerPrefixesWithoutTheirLatentsReconstructBDecAlone();
    }

    @Test
    void refusesGroupEndsThatDoNotPartitionTheLatents() {
        MatryoshkaDecodeParity.refusesGroupEndsThatDoNotPartitionTheLatents();
    }
}
