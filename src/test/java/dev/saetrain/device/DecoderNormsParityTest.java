package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.DecoderNormsParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link DecoderNormsParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class DecoderNormsParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void rowNormsAndNormalizeMatchReference(FastDevice fd, Shape s) {
        DecoderNormsParity.rowNormsAndNormalizeMatchReference(fd, s);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void projectOutParallelMatchesReference(FastDevice fd, Shape s) {
        DecoderNormsParity.projectOutParallelMatchesReference(fd, s);
    }
}
