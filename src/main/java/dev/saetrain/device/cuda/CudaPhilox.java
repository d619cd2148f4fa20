package dev.saetrain.device.cuda;

import java.util.List;

/**
 * Philox-4x32-10 on the GPU ({@code src/main/cuda/philox.cu}): the same counter-based stream as
 * {@link dev.saetrain.model.Philox}, so initial weights and resampling agree across devices for one seed.
 *
 * <p>The 32-bit words ({@link #blocks}) are bit-identical to {@link dev.saetrain.model.Philox#block}.
 * {@link #fillNormal} runs the same Box-Muller arithmetic in double as
 * {@link dev.saetrain.model.Philox#fillNormal}; the uniforms are exact, but the GPU's double log / sin / cos
 * are not Java's, so an output may differ from the CPU's by 1 ulp of the float (almost all are identical).
 */
public final class CudaPhilox {
    /** philox_blocks(out uint32 [count, 4], seed, stream, counter0, count). */
    public static final KernelSpec BLOCKS = KernelSpec.of("philox", "philox_blocks",
            Param.PTR, Param.I64, Param.I64, Param.I64, Param.I64);
    /** philox_fill_normal(out float [n], n, seed, stream). */
    public static final KernelSpec FILL_NORMAL = KernelSpec.of("philox", "philox_fill_normal",
            Param.PTR, Param.I64, Param.I64, Param.I64);

    /** Every kernel this class launches (checked against the PTX by KernelSignatureTest). */
    public static final List<KernelSpec> KERNELS = List.of(BLOCKS, FILL_NORMAL);

    private final CudaRuntime rt;

    public CudaPhilox(CudaRuntime rt) {
        this.rt = rt;
    }

    /** out[0..n) = the values {@link dev.saetrain.model.Philox#fillNormal} writes for (seed, stream). */
    public void fillNormal(long seed, long stream, CudaFloatBuf out, long n) {
        if (n < 0 || n > out.size()) {
            throw new IllegalArgumentException("Philox fillNormal: n = " + n + " outside a buffer of " + out.size());
        }
        if (n == 0) {
            return;
        }
        long blocks = (n + 3) / 4;
        rt.launch(FILL_NORMAL, GridStride.blocks(blocks, rt.multiprocessors()), 1, GridStride.THREADS, 0,
                out, n, seed, stream);
    }

    /**
     * out[4 i .. 4 i + 4) = the four words of block {@code counter0 + i} of (seed, stream), as
     * {@link dev.saetrain.model.Philox#block} gives them, for i in [0, count).
     */
    public void blocks(long seed, long stream, long counter0, long count, CudaIntBuf out) {
        if (count < 0 || count > out.size() / 4) {
            throw new IllegalArgumentException("Philox blocks: " + count + " blocks need " + count * 4
                    + " ints, the buffer holds " + out.size());
        }
        if (count == 0) {
            return;
        }
        rt.launch(BLOCKS, GridStride.blocks(count, rt.multiprocessors()), 1, GridStride.THREADS, 0,
                out, seed, stream, counter0, count);
    }
}
