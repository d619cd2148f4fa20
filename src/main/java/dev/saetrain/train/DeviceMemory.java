package dev.saetrain.train;

/**
 * The check of a family's {@link MemoryPlan} against a GPU's free memory (cuMemGetInfo) before the first step. A
 * share of the free memory is held back for what the plan does not count: the cuBLAS workspace, the devices'
 * scratch buffers, allocator rounding. When the family does not fit, the error names the SAEs to drop (largest
 * first) and how much memory there is, like the host-memory check.
 */
public final class DeviceMemory {
    /** Share of the free device memory kept back from the plan. */
    public static final double HEADROOM = 0.05;
    /** Bytes kept back at least (context-independent scratch, a few reduction buffers, cuBLAS workspace). */
    public static final long MIN_HEADROOM = 256L << 20;

    private DeviceMemory() {
    }

    /** The bytes the plan may use out of {@code freeBytes}. */
    public static long usable(long freeBytes) {
        long keep = Math.max(MIN_HEADROOM, (long) (freeBytes * HEADROOM));
        return Math.max(0, freeBytes - keep);
    }

    /** Throws UsageException (exit code 2) naming the SAEs that do not fit on {@code device}. */
    public static void check(MemoryPlan plan, long freeBytes, String device) {
        plan.check(usable(freeBytes), "the GPU's free memory (" + MemoryPlan.human(freeBytes) + " free on " + device
                + ", less " + MemoryPlan.human(freeBytes - usable(freeBytes)) + " head room)");
    }
}
