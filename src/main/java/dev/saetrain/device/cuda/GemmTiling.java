package dev.saetrain.device.cuda;

/**
 * The tile and grid arithmetic of {@code gemm.cu}, in plain Java so it can be tested without a GPU. C [m, n]
 * is cut into {@link #BM} x {@link #BN} tiles (edge tiles partial); each 256-thread block computes one tile.
 * Blocks are numbered linearly, {@code blockIdx.y * gridDim.x + blockIdx.x}, and {@link #tileM} / {@link #tileN}
 * map a block number to its tile in groups of {@link #GROUP_M} tile rows (so blocks that run together share A
 * and B tiles in L2); the kernel does the same arithmetic in 64 bits.
 *
 * @param tilesM tiles along m: ceil(m / BM)
 * @param tilesN tiles along n: ceil(n / BN)
 * @param gridX  blocks along x (at most 2^31 - 1)
 * @param gridY  blocks along y (at most 65535); gridX * gridY >= tilesM * tilesN, extra blocks exit at once
 */
public record GemmTiling(int tilesM, int tilesN, long gridX, int gridY) {
    public static final int BM = 128;
    public static final int BN = 128;
    public static final int BK = 16;
    public static final int THREADS = 256;
    public static final int GROUP_M = 8;
    /** CUDA's limits on gridDim.x and gridDim.y. */
    public static final long MAX_GRID_X = Integer.MAX_VALUE;
    public static final int MAX_GRID_Y = 65535;

    /** The tiling of a C of [m, n]; m and n must be positive. */
    public static GemmTiling of(int m, int n) {
        if (m <= 0 || n <= 0) {
            throw new IllegalArgumentException("GEMM tiling needs m, n > 0, got m = " + m + ", n = " + n);
        }
        int tilesM = ceilDiv(m, BM);
        int tilesN = ceilDiv(n, BN);
        long tiles = (long) tilesM * tilesN;
        long gridY = (tiles + MAX_GRID_X - 1) / MAX_GRID_X;
        if (gridY > MAX_GRID_Y) {
            throw new IllegalArgumentException("GEMM of [" + m + ", " + n + "] needs " + tiles
                    + " blocks, more than one launch can hold");
        }
        long gridX = (tiles + gridY - 1) / gridY;
        return new GemmTiling(tilesM, tilesN, gridX, (int) gridY);
    }

    /** Number of tiles (blocks that do work). */
    public long tiles() {
        return (long) tilesM * tilesN;
    }

    /** The tile row of block {@code block} (0 <= block < tiles()). */
    public int tileM(long block) {
        long span = (long) GROUP_M * tilesN;
        long group = block / span;
        long firstM = group * GROUP_M;
        int groupRows = (int) Math.min(GROUP_M, tilesM - firstM);
        return (int) (firstM + (block - group * span) % groupRows);
    }

    /** The tile column of block {@code block} (0 <= block < tiles()). */
    public int tileN(long block) {
        long span = (long) GROUP_M * tilesN;
        long group = block / span;
        long firstM = group * GROUP_M;
        int groupRows = (int) Math.min(GROUP_M, tilesM - firstM);
        return (int) ((block - group * span) / groupRows);
    }

    /** Floating-point operations of one product: 2 m n k. */
    public static double flops(int m, int n, int k) {
        return 2.0 * m * n * k;
    }

    private static int ceilDiv(int a, int b) {
        return (int) (((long) a + b - 1) / b);
    }
}
