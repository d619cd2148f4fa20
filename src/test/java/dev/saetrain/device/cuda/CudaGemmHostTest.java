package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link CudaGemm} without a GPU: which kernel, grid and arguments a product launches, and argument checks. */
class CudaGemmHostTest {
    private final RecordingRuntime rt = new RecordingRuntime(108);
    private final CudaGemm gemm = new CudaGemm(rt);
    private final DevPtr a = new DevPtr(0x1000);
    private final DevPtr b = new DevPtr(0x2000);
    private final DevPtr c = new DevPtr(0x3000);

    @Test
    void eachTransposeCombinationHasItsKernel() {
        assertSame(CudaGemm.NN, CudaGemm.kernel(false, false));
        assertSame(CudaGemm.NT, CudaGemm.kernel(false, true));
        assertSame(CudaGemm.TN, CudaGemm.kernel(true, false));
        assertSame(CudaGemm.TT, CudaGemm.kernel(true, true));
        assertEquals(4, CudaGemm.KERNELS.stream().map(KernelSpec::name).distinct().count());
    }

    @Test
    void theEncoderProductLaunchesTheNtKernelOverItsTiles() {
        // pre [4096, 24576] = xIn [4096, 768] x wEnc [24576, 768]^T, C with a padded stride
        gemm.gemm(false, true, 4096, 24576, 768, 1f, a, 768, b, 768, 0f, c, 24580);
        assertEquals(1, rt.launches.size());
        RecordingRuntime.Launch l = rt.launches.get(0);
        assertSame(CudaGemm.NT, l.kernel());
        assertEquals(32L * 192, l.gridX());
        assertEquals(1, l.gridY());
        assertEquals(GemmTiling.THREADS, l.blockX());
        assertEquals(List.of(4096, 24576, 768, 1f, a, 768, b, 768, 0f, c, 24580, 32, 192), l.args());
    }

    @Test
    void transposedOperandsCheckTheirStoredRowLength() {
        // TN: dW [m=7, n=48] = A^T B with A stored [k=1031, 7], B stored [1031, 48]
        gemm.gemm(true, false, 7, 48, 1031, 0.5f, a, 7, b, 48, 1f, c, 48);
        assertSame(CudaGemm.TN, rt.launches.get(0).kernel());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(true, false, 7, 48, 1031, 1f, a, 6, b, 48, 0f, c, 48));
        assertTrue(e.getMessage().contains("lda = 6") && e.getMessage().contains("[k, m]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(false, false, 7, 48, 1031, 1f, a, 1031, b, 47, 0f, c, 48));
        assertTrue(e.getMessage().contains("ldb = 47"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(false, true, 7, 48, 1031, 1f, a, 1031, b, 1030, 0f, c, 48));
        assertTrue(e.getMessage().contains("ldb = 1030") && e.getMessage().contains("[n, k]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(false, false, 7, 48, 1031, 1f, a, 1031, b, 48, 0f, c, 40));
        assertTrue(e.getMessage().contains("ldc = 40"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(false, false, -1, 48, 1031, 1f, a, 1031, b, 48, 0f, c, 48));
        assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(false, false, 7, 48, 1031, 1f, null, 1031, b, 48, 0f, c, 48));
        assertEquals(1, rt.launches.size(), "refused products launch nothing");
    }

    @Test
    void emptyProductsLaunchNothingButKZeroStillScalesC() {
        gemm.gemm(false, false, 0, 48, 16, 1f, a, 16, b, 48, 0f, c, 48);
        gemm.gemm(false, false, 7, 0, 16, 1f, a, 16, b, 1, 0f, c, 0);
        assertEquals(0, rt.launches.size());
        gemm.gemm(false, false, 7, 48, 0, 1f, null, 1, null, 48, 0.5f, c, 48);
        assertEquals(1, rt.launches.size(), "k = 0 still computes C = beta C");
    }
}
