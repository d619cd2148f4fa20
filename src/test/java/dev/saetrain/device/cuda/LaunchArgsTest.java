package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The launch-time argument check of CudaRuntime.launch, without a GPU. */
class LaunchArgsTest {
    private static final KernelSpec K = KernelSpec.of("m", "k", Param.PTR, Param.PTR, Param.PTR, Param.PTR, Param.I32,
            Param.I64, Param.F32);

    @Test
    void convertsEveryKind() {
        CudaFloatBuf fb = new CudaFloatBuf(4096, 10, a -> { });
        CudaIntBuf ib = new CudaIntBuf(8192, 10, a -> { });
        Object[] v = LaunchArgs.check(K, fb, ib, new DevPtr(12), null, 7, 9L, 1.5f);
        assertArrayEquals(new Object[] {4096L, 8192L, 12L, 0L, 7, 9L, 1.5f}, v);
        // An element offset is a byte offset on the address.
        assertArrayEquals(new Object[] {4096L + 3 * 4}, LaunchArgs.check(KernelSpec.of("m", "p", Param.PTR), fb.at(3)));
    }

    @Test
    void rejectsWrongCountAndKinds() {
        CudaFloatBuf fb = new CudaFloatBuf(4096, 10, a -> { });
        var e = assertThrows(IllegalArgumentException.class, () -> LaunchArgs.check(K, fb));
        assertTrue(e.getMessage().contains("1 arguments for 7 parameters"), e.getMessage());
        // int where a long is wanted, long where an int is wanted, double where a float is, a host array as pointer
        Object[][] bad = {
            {fb, fb, fb, fb, 7, 9, 1.5f},
            {fb, fb, fb, fb, 7L, 9L, 1.5f},
            {fb, fb, fb, fb, 7, 9L, 1.5},
            {new float[1], fb, fb, fb, 7, 9L, 1.5f},
            {fb, fb, fb, fb, null, 9L, 1.5f},
        };
        for (Object[] args : bad) {
            var x = assertThrows(IllegalArgumentException.class, () -> LaunchArgs.check(K, args));
            assertTrue(x.getMessage().startsWith("m.ptx:k"), x.getMessage());
        }
    }

    @Test
    void closedBufferIsRejected() {
        CudaFloatBuf fb = new CudaFloatBuf(4096, 10, a -> { });
        fb.close();
        assertThrows(IllegalStateException.class, () -> LaunchArgs.check(KernelSpec.of("m", "p", Param.PTR), fb));
    }
}
