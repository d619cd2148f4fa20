package dev.saetrain.device;

import dev.saetrain.device.arch.MatryoshkaOps;
import java.util.Arrays;

/**
 * The matryoshka group ends the Device ops take ({@link MatryoshkaOps#matryoshkaDecode}): {@code ends[0 .. groups)} are
 * the prefix bounds, group g being latents {@code [0, ends[g])}; strictly increasing from >= 1 and ending at nLatents.
 * One check for every device and the reference.
 */
public final class GroupEnds {
    private GroupEnds() {
    }

    /** Throws IllegalArgumentException unless {@code ends[0 .. groups)} are valid group ends for nLatents latents. */
    public static void check(int[] ends, int groups, int nLatents) {
        if (groups < 1 || ends.length < groups) {
            throw new IllegalArgumentException("matryoshka needs >= 1 group ends, got " + groups + " in a buffer of "
                    + ends.length);
        }
        int prev = 0;
        for (int g = 0; g < groups; g++) {
            if (ends[g] <= prev) {
                throw new IllegalArgumentException("matryoshka group ends must increase from >= 1, got "
                        + Arrays.toString(Arrays.copyOf(ends, groups)));
            }
            prev = ends[g];
        }
        if (prev != nLatents) {
            throw new IllegalArgumentException("matryoshka groups end at " + prev + ", expected nLatents = " + nLatents);
        }
    }
}
