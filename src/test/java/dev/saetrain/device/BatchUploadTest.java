package dev.saetrain.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.selftest.DeviceFixtures;
import org.junit.jupiter.api.Test;

/** Device.batchUpload's default (the CPU path of the step loop): each batch arrives as given. */
class BatchUploadTest {
    @Test
    void directUploadDeliversEachBatch() {
        try (CpuDevice dev = new CpuDevice(1); BatchUpload up = dev.batchUpload(12)) {
            for (int n = 0; n < 3; n++) {
                float[] h = DeviceFixtures.gaussian(n, 12, 1.0);
                FloatBuf x = up.next(h);
                assertArrayEquals(h, DeviceFixtures.down(dev, x, 12));
            }
            assertThrows(IllegalArgumentException.class, () -> up.next(new float[13]));
        }
    }
}
