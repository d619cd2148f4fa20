package dev.saetrain.device;

import dev.saetrain.selftest.DeviceFixtures.FastDevice;
import dev.saetrain.selftest.DeviceFixtures.Shape;
import dev.saetrain.selftest.parity.BufferParity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link BufferParity} (its Javadoc gives the cases and tolerances) under JUnit, on each fast device and awkward shape. */
class BufferParityTest {
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.saetrain.selftest.DeviceFixtures#cases")
    void buffersCopyExactly(FastDevice fd, Shape s) {
        BufferParity.buffersCopyExactly(fd, s);
    }
}
