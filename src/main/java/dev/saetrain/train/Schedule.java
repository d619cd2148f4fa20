package dev.saetrain.train;

/**
 * Per-step learning rate and sparsity coefficient (docs/design.md, "The training step"): linear LR warm-up, constant,
 * then linear decay to 0 over the last {@code decayFraction} of the steps; the relu sparsity coefficient
 * warms up linearly over the first {@code l1WarmupFraction} (Anthropic, April 2024 update: 5 %).
 * Values are computed, never stored back into a config.
 *
 * @param totalSteps       steps in the run
 * @param lr               peak learning rate
 * @param warmupSteps      LR warm-up steps
 * @param decayFraction    fraction of the run over which the LR decays linearly to 0 at the end
 * @param l1               final sparsity coefficient
 * @param l1WarmupFraction fraction of the run over which the coefficient ramps up from 0
 */
public record Schedule(long totalSteps, double lr, long warmupSteps, double decayFraction, double l1,
                       double l1WarmupFraction) {
    public Schedule {
        if (totalSteps < 1) {
            throw new IllegalArgumentException("the run has no whole batch to train on (total steps " + totalSteps
                    + "); give more tokens or a smaller --batch");
        }
        if (!(lr > 0) || !Double.isFinite(lr)) {
            throw new IllegalArgumentException("--lr must be a positive number, got " + lr);
        }
        if (warmupSteps < 0 || !(decayFraction >= 0 && decayFraction <= 1) || !(l1WarmupFraction >= 0 && l1WarmupFraction <= 1)) {
            throw new IllegalArgumentException("bad schedule fractions: warmup " + warmupSteps + ", decay " + decayFraction
                    + ", l1 warm-up " + l1WarmupFraction);
        }
    }

    /** The default: warm-up over min(1000, 5 %) of the steps, decay over the last 20 %, l1 warm-up 5 %. */
    public static Schedule standard(long totalSteps, double lr, double l1) {
        return new Schedule(totalSteps, lr, Math.min(1000, totalSteps / 20), 0.2, l1, 0.05);
    }

    /** First step (1-based) of the decay phase. */
    public long decayStart() {
        return totalSteps - (long) Math.floor(totalSteps * decayFraction) + 1;
    }

    /** Learning rate of 1-based step {@code t}. */
    public double lrAt(long t) {
        double f = 1.0;
        if (warmupSteps > 0 && t <= warmupSteps) {
            f = (double) t / warmupSteps;
        }
        long ds = decayStart();
        if (t >= ds && decayFraction > 0) {
            long span = totalSteps - ds + 1;
            f = Math.min(f, (double) (totalSteps - t + 1) / (span + 1));
        }
        return lr * f;
    }

    /** Sparsity coefficient of 1-based step {@code t}. */
    public double l1At(long t) {
        long w = (long) Math.floor(totalSteps * l1WarmupFraction);
        return w > 0 && t <= w ? l1 * t / w : l1;
    }
}
