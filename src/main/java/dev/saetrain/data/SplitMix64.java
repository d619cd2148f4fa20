package dev.saetrain.data;

/**
 * SplitMix64 (Steele, Lea and Flood 2014): a tiny generator whose output is fixed by this code, not by
 * the JDK version, so a row order saved in a checkpoint replays identically anywhere.
 */
final class SplitMix64 {
    private long state;

    SplitMix64(long seed) {
        this.state = seed;
    }

    /** The generator for {@code epoch} of a stream seeded {@code seed}: independent streams per epoch. */
    static SplitMix64 forEpoch(long seed, long epoch) {
        return new SplitMix64(mix(mix(seed) + 0x632BE59BD9B4E019L * (epoch + 1)));
    }

    long nextLong() {
        state += 0x9E3779B97F4A7C15L;
        return mix(state);
    }

    /** Uniform in {@code [0, bound)}, without modulo bias (rejection on the top of the range). */
    long nextLong(long bound) {
        assert bound > 0;
        long limit = Long.MAX_VALUE - Long.MAX_VALUE % bound;
        long r;
        do {
            r = nextLong() >>> 1;
        } while (r >= limit);
        return r % bound;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
