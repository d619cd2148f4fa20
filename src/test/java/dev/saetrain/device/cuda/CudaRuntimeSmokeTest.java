package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.BatchUpload;
import dev.saetrain.device.FloatBuf;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The runtime on a GPU: copies at offsets, a launch with checked arguments, the double reductions, the pinned
 * double-buffered input path (each batch arrives intact while the previous one is still being read), the GEMM
 * path in describe(), and the memory query.
 */
@Tag("cuda")
class CudaRuntimeSmokeTest {
    @Test
    void copiesLaunchesAndReductions() {
        CudaAssume.cudaDevice();
        try (CudaDevice dev = CudaDevice.open()) {
            assertTrue(dev.describe().startsWith("cuda (") && dev.describe().contains("dense products"), dev.describe());
            FloatBuf a = dev.allocFloat(1000);
            float[] h = new float[1000];
            for (int i = 0; i < h.length; i++) {
                h[i] = i * 0.5f;
            }
            dev.upload(h, 10, a, 5, 990);
            float[] back = new float[990];
            dev.download(a, 5, back, 0, 990);
            assertArrayEquals(java.util.Arrays.copyOfRange(h, 10, 1000), back);
            dev.fill(a, 1000, 2f);
            assertEquals(4000.0, dev.dot(a, a, 1000));
            assertThrows(IllegalArgumentException.class, () -> dev.runtime().launch(CudaDevice.FILL, 1, 1, 256, 0,
                    a, 1000, 1f), "an int where the spec says I64");
            long[] mem = ((JCudaRuntime) dev.runtime()).memoryInfo();
            assertTrue(mem[0] > 0 && mem[0] <= mem[1], java.util.Arrays.toString(mem));
            assertTrue(dev.freeMemoryBytes().getAsLong() > 0);
        }
    }

    @Test
    void pinnedUploadDeliversEveryBatchIntact() {
        CudaAssume.cudaDevice();
        try (CudaDevice dev = CudaDevice.open(); BatchUpload up = dev.batchUpload(4096)) {
            FloatBuf acc = dev.allocFloat(1);
            for (int n = 0; n < 20; n++) {
                float[] h = new float[4096];
                java.util.Arrays.fill(h, n + 1);
                FloatBuf x = up.next(h);
                // Work on the compute stream that reads the batch, queued before the next upload starts.
                double s = dev.dot(x, x, 4096);
                assertEquals(4096.0 * (n + 1) * (n + 1), s, "batch " + n);
                dev.scaleInto(x, x, 4096, 0f);
            }
            acc.close();
        }
    }
}
