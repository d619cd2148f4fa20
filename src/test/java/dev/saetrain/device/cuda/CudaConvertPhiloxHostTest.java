package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.io.DType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link CudaConvert}, {@link CudaPhilox} and {@link GridStride} without a GPU: launches and argument checks. */
class CudaConvertPhiloxHostTest {
    private final RecordingRuntime rt = new RecordingRuntime(132);

    @Test
    void gridStrideCoversSmallWorkOnceAndCapsLargeWork() {
        assertEquals(1, GridStride.blocks(1, 132));
        assertEquals(1, GridStride.blocks(256, 132));
        assertEquals(2, GridStride.blocks(257, 132));
        assertEquals(132L * GridStride.BLOCKS_PER_SM, GridStride.blocks(1L << 40, 132));
        assertEquals(GridStride.BLOCKS_PER_SM, GridStride.blocks(1L << 40, 0));
        assertThrows(IllegalArgumentException.class, () -> GridStride.blocks(0, 132));
    }

    @Test
    void conversionPicksTheKernelOfTheStoredDtype() {
        CudaConvert convert = new CudaConvert(rt);
        CudaFloatBuf out = rt.allocFloat(4096L * 768);
        DevPtr raw = new DevPtr(0x10000);
        convert.toFloat(raw, DType.BF16, 4096L * 768, 0.25f, out);
        convert.toFloat(raw, DType.F16, 10, 1f, out);
        convert.toFloat(raw, DType.F32, 10, 2f, out);
        assertSame(CudaConvert.BF16, rt.launches.get(0).kernel());
        assertSame(CudaConvert.F16, rt.launches.get(1).kernel());
        assertSame(CudaConvert.F32, rt.launches.get(2).kernel());
        assertEquals(List.of(raw, out, 4096L * 768, 0.25f), rt.launches.get(0).args());
        assertEquals(132L * GridStride.BLOCKS_PER_SM, rt.launches.get(0).gridX());
        assertEquals(1, rt.launches.get(1).gridX());
    }

    @Test
    void conversionRefusesBadArguments() {
        CudaConvert convert = new CudaConvert(rt);
        CudaFloatBuf out = rt.allocFloat(100);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> convert.toFloat(new DevPtr(0x10000), DType.I32, 10, 1f, out));
        assertTrue(e.getMessage().contains("I32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> convert.toFloat(new DevPtr(0x10000), DType.F16, 101, 1f, out));
        assertTrue(e.getMessage().contains("101"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> convert.toFloat(new DevPtr(0x10001), DType.F16, 10, 1f, out));
        assertTrue(e.getMessage().contains("aligned to 2 bytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> convert.toFloat(new DevPtr(0x10002), DType.F32, 10, 1f, out));
        convert.toFloat(new DevPtr(0x10000), DType.F32, 0, 1f, out);
        assertEquals(0, rt.launches.size());
    }

    @Test
    void philoxLaunchesOneThreadPerBlockOfFourOutputs() {
        CudaPhilox philox = new CudaPhilox(rt);
        CudaFloatBuf out = rt.allocFloat(1001);
        philox.fillNormal(42L, 7L, out, 1001);
        RecordingRuntime.Launch l = rt.launches.get(0);
        assertSame(CudaPhilox.FILL_NORMAL, l.kernel());
        assertEquals(List.of(out, 1001L, 42L, 7L), l.args());
        assertEquals(1, l.gridX(), "251 Philox blocks fit one 256-thread block");
        CudaIntBuf words = rt.allocInt(40);
        philox.blocks(-1L, 3L, 1L << 32, 10, words);
        assertEquals(List.of(words, -1L, 3L, 1L << 32, 10L), rt.launches.get(1).args());
        assertThrows(IllegalArgumentException.class, () -> philox.blocks(1, 2, 0, 11, words));
        assertThrows(IllegalArgumentException.class, () -> philox.fillNormal(1, 2, out, 1002));
        philox.fillNormal(1, 2, out, 0);
        assertEquals(2, rt.launches.size());
    }
}
