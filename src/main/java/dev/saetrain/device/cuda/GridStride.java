package dev.saetrain.device.cuda;

/**
 * Launch shape of the element-wise, grid-stride kernels (conversion, Philox): {@link #THREADS} threads per
 * block, enough blocks to cover the work once, but no more than {@link #BLOCKS_PER_SM} per multiprocessor
 * (each thread then loops with a stride of the whole grid, 64-bit indices).
 */
final class GridStride {
    static final int THREADS = 256;
    static final int BLOCKS_PER_SM = 32;

    private GridStride() {
    }

    /** Blocks for {@code work} items (work >= 1) on a device with {@code multiprocessors} SMs. */
    static long blocks(long work, int multiprocessors) {
        if (work < 1) {
            throw new IllegalArgumentException("grid-stride launch needs work >= 1, got " + work);
        }
        long cover = (work + THREADS - 1) / THREADS;
        long cap = (long) Math.max(1, multiprocessors) * BLOCKS_PER_SM;
        return Math.min(cover, cap);
    }
}
