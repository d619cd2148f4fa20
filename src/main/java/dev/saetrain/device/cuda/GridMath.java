package dev.saetrain.device.cuda;

/**
 * Launch shapes of the kernels of {@link CudaDevice} (src/main/cuda/core.cu) and {@link CudaActivationOps}
 * (activation.cu, sparse.cu), plain Java so they are tested without a GPU; gemm.cu's tiles are {@link GemmTiling}'s.
 * Elementwise and reduction kernels are grid-stride loops, so any grid covers any n; the grids here are sized to
 * fill the device without launching more blocks than there is work.
 */
public final class GridMath {
    /** Threads per block of every kernel but the one-block scans (a multiple of 32; core.cu's block sums assume it). */
    public static final int BLOCK = 256;
    /** Threads of the one-block scans (activation.cu's block_scan: the shared scratch holds 1024 partial sums). */
    static final int SCAN_BLOCK = 1024;
    /** The most blocks of a first reduction pass: the partials buffer holds this many doubles (plus the result). */
    public static final int MAX_REDUCTION_BLOCKS = 1024;
    /**
     * Resident blocks per SM to aim at: CudaActivationOps' grid-stride kernels launch at most this many per SM,
     * CudaDevice's elementwise and row kernels 4 times as many.
     */
    static final int BLOCKS_PER_SM = 8;

    /** Threads of topk_select's blocks when two or more fit on an SM (a multiple of 32). */
    static final int TOPK_BLOCK = 512;
    /** Threads of topk_select's blocks when a row's keys take more than half the shared memory: one block per SM. */
    static final int TOPK_WIDE_BLOCK = 1024;
    /** Shared memory kept aside for topk_select's static arrays (its histogram: 8.4 KiB by ptxas -v), in bytes. */
    static final int TOPK_STATIC_SHARED = 16 * 1024;

    private GridMath() {
    }

    /**
     * Dynamic shared memory of topk_select for rows of nLatents keys, in bytes (activation.cu: the keys at an offset
     * of up to 3 words that lines the row's 16-byte boundaries up with shared memory's, rounded up to 4 words), or 0
     * when that and the static arrays exceed maxShared: the kernel then reads every pass from global memory.
     */
    static int topkSharedBytes(int nLatents, int maxShared) {
        long bytes = 4L * ((Math.max(0L, nLatents) + 6) & ~3L);
        return bytes + TOPK_STATIC_SHARED <= maxShared ? (int) bytes : 0;
    }

    /** Threads of topk_select's blocks for that much dynamic shared memory: all of an SM's when one block fills it. */
    static int topkBlock(int sharedBytes, int maxShared) {
        return 2L * (sharedBytes + TOPK_STATIC_SHARED) > maxShared ? TOPK_WIDE_BLOCK : TOPK_BLOCK;
    }

    /** ceil(n / d) for n >= 0, d > 0. */
    public static long ceilDiv(long n, long d) {
        return (n + d - 1) / d;
    }

    /** want blocks, capped at sms * perSm (sms taken as >= 1), never 0. */
    private static long capped(long want, int sms, int perSm) {
        return Math.max(1, Math.min(want, (long) Math.max(1, sms) * perSm));
    }

    /** Blocks of one of CudaActivationOps' grid-stride kernels over n elements: at most BLOCKS_PER_SM per SM. */
    static long streamBlocks(long n, int sms) {
        return capped(ceilDiv(Math.max(0, n), BLOCK), sms, BLOCKS_PER_SM);
    }

    /** Blocks of a kernel with one thread per column (latent): ceil(cols / BLOCK), never 0. */
    static long columnBlocks(long cols) {
        return Math.max(1, ceilDiv(Math.max(0, cols), BLOCK));
    }

    /** Blocks of an elementwise grid-stride kernel over n elements: at least 1, at most sms * BLOCKS_PER_SM * 4. */
    public static int elementwiseBlocks(long n, int sms) {
        return (int) capped(ceilDiv(Math.max(0, n), BLOCK), sms, BLOCKS_PER_SM * 4);
    }

    /** Blocks of a first reduction pass over n elements: at least 1, at most {@link #MAX_REDUCTION_BLOCKS}. */
    public static int reductionBlocks(long n) {
        return (int) Math.min(Math.max(1, ceilDiv(n, BLOCK)), MAX_REDUCTION_BLOCKS);
    }

    /** Blocks of a one-block-per-row kernel (grid-stride over rows): min(rows, sms * BLOCKS_PER_SM * 4), at least 1. */
    public static int rowBlocks(long rows, int sms) {
        return (int) capped(rows, sms, BLOCKS_PER_SM * 4);
    }

    /**
     * Rows per chunk of the two-pass column sums (weighted_column_sums_*): the rows are split into chunks so that
     * column blocks x chunks is about sms * BLOCKS_PER_SM, each chunk at least 32 rows.
     */
    public static int rowsPerChunk(int rows, int cols, int sms) {
        long colBlocks = Math.max(1, ceilDiv(cols, BLOCK));
        long chunks = Math.max(1, (long) Math.max(1, sms) * BLOCKS_PER_SM / colBlocks);
        long per = Math.max(32, ceilDiv(rows, chunks));
        return (int) Math.max(1, Math.min(per, Math.max(1, rows)));
    }

    /** Chunks of the column sums for rows split {@code rowsPerChunk} at a time. */
    public static int chunks(int rows, int rowsPerChunk) {
        return (int) Math.max(1, ceilDiv(rows, rowsPerChunk));
    }

    /**
     * Grid {x, y} of a kernel over [rows, cols] with x grid-striding over columns and y over rows: enough column
     * blocks to cover a row once (at most 65535), and row blocks so that x * y is about sms * BLOCKS_PER_SM * 4
     * (y within [1, min(rows, 65535)]).
     */
    public static int[] rowColumnGrid(int rows, int cols, int sms) {
        int gx = (int) Math.max(1, Math.min(65535, ceilDiv(cols, BLOCK)));
        long target = (long) Math.max(1, sms) * BLOCKS_PER_SM * 4;
        int gy = (int) Math.max(1, Math.min(Math.min(rows, 65535), ceilDiv(target, gx)));
        return new int[] {gx, gy};
    }
}
