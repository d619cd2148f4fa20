package dev.saetrain.model;

/**
 * Philox-4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"), the counter-based
 * generator cuRAND and JAX use. Stateless: block {@code c} of stream {@code s} under key {@code seed} is
 * a pure function, so the CUDA kernels can produce the same numbers for the same (seed, stream, counter)
 * and any element can be generated independently, in parallel.
 *
 * <p>Counter layout: (c_lo, c_hi, s_lo, s_hi); key: (seed_lo, seed_hi).
 */
public final class Philox {
    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;

    private Philox() {
    }

    /** The four 32-bit outputs of block {@code counter} of {@code stream} under {@code seed}, into out[0..4). */
    public static void block(long seed, long stream, long counter, int[] out) {
        int c0 = (int) counter;
        int c1 = (int) (counter >>> 32);
        int c2 = (int) stream;
        int c3 = (int) (stream >>> 32);
        int k0 = (int) seed;
        int k1 = (int) (seed >>> 32);
        for (int r = 0; r < 10; r++) {
            long p0 = (M0 & 0xffffffffL) * (c0 & 0xffffffffL);
            long p1 = (M1 & 0xffffffffL) * (c2 & 0xffffffffL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n1 = (int) p1;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            int n3 = (int) p0;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
            k0 += W0;
            k1 += W1;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /** A uniform float in (0, 1] from 32 random bits: (u + 1) * 2^-32 computed in double, then rounded. */
    public static double uniformOpen0(int bits) {
        return ((bits & 0xffffffffL) + 1.0) * 0x1p-32;
    }

    /**
     * Fills out[0..n) with standard normals of {@code stream}: block c gives elements 4c..4c+3 by Box-Muller
     * on its outputs (0,1) and (2,3), computed in double. The CUDA kernel does the same arithmetic.
     */
    public static void fillNormal(long seed, long stream, float[] out) {
        fillNormal(seed, stream, 0, out);
    }

    /**
     * Fills out[0..n) with elements {@code first .. first + n} of the same sequence as {@link #fillNormal(long, long,
     * float[])} (64-bit element index: a sequence longer than one array is filled a page at a time, each page
     * continuing where the last ended).
     */
    public static void fillNormal(long seed, long stream, long first, float[] out) {
        fillNormal(seed, stream, first, out, 0, out.length);
    }

    /**
     * Fills out[off, off + n) with elements {@code first .. first + n} of the sequence of {@link #fillNormal(long,
     * long, float[])}: any range on its own (a matrix's rows are drawn in parallel, each from its own offset).
     */
    public static void fillNormal(long seed, long stream, long first, float[] out, int off, int n) {
        int[] w = new int[4];
        long pairAt = -1; // the pair (elements 2p, 2p + 1) whose r and t are held
        double r = 0;
        double t = 0;
        for (int i = 0; i < n; i++) {
            long e = first + i;
            if (e >>> 1 != pairAt) {
                pairAt = e >>> 1;
                block(seed, stream, e >>> 2, w);
                int pair = (int) pairAt & 1;
                r = Math.sqrt(-2.0 * Math.log(uniformOpen0(w[2 * pair])));
                t = 2.0 * Math.PI * uniformOpen0(w[2 * pair + 1]);
            }
            out[off + i] = (float) ((e & 1) == 0 ? r * Math.cos(t) : r * Math.sin(t));
        }
    }

    /** A uniform double in [0, 1) for element {@code i} of {@code stream} (53 bits from two outputs). */
    public static double uniform(long seed, long stream, long i) {
        int[] w = new int[4];
        block(seed, stream, i, w);
        long hi = (w[0] & 0xffffffffL) >>> 5;
        long lo = (w[1] & 0xffffffffL) >>> 6;
        return (hi * 67108864.0 + lo) * 0x1p-53;
    }
}
