package dev.saetrain.train;

import static dev.saetrain.error.Setting.BATCH;
import static dev.saetrain.error.Setting.LR;

import dev.saetrain.error.UsageException;

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
            throw UsageException.of("the run has no whole batch to train on (total steps " + totalSteps
                    + "); give more tokens or a smaller ", BATCH);
        }
        if (!(lr > 0) || !Double.isFinite(lr)) {
            throw new UsageException(LR, "must be a positive number, got " + lr);
        }
        if (warmupSteps < 0 || !(decayFraction >= 0 && decayFraction <= 1) || !(l1WarmupFraction >= 0 && l1WarmupFraction <= 1)) {
            throw new IllegalArgumentException("bad schedule fractions: warmup " + warmupSteps + ", decay " + decayFraction
                    + ", l1 warm-up " + l1WarmupFraction);
        }
    }

    /** The default recipe's schedule ({@link Recipe#DEFAULT}: constant LR), l1 warm-up 5 %. */
    public static Schedule standard(long totalSteps, double lr, double l1) {
        return of(totalSteps, lr, l1, Recipe.DEFAULT);
    }

    /**
     * The LR warm-up and decay of {@code recipe}; the sparsity coefficient's warm-up stays 5 % whatever the LR does
     * (it is part of the relu recipe, not of the LR schedule).
     */
    public static Schedule of(long totalSteps, double lr, double l1, Recipe recipe) {
        return new Schedule(totalSteps, lr, recipe.warmup().stepsFor(totalSteps), recipe.decay(), l1, 0.05);
    }

    /**
     * The step from which relu-2023 no longer resamples ({@link Resampler.Plan#until}): the start of the LR decay,
     * so that resampled latents train at full LR before it falls. With no decay ({@code --decay 0}) resampling goes
     * on to the end but skips the last step itself, where a resampled latent would be exported untrained.
     */
    public long resampleUntil() {
        return decayFraction > 0 ? decayStart() : totalSteps;
    }

    /** First step (1-based) of the decay phase; totalSteps + 1 when there is none. */
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

    /**
     * How far, in log theta, jumprelu's threshold must be able to travel over a run at full pace: e^7 (about 1100)
     * covers the distance from the paper's start (0.001 on unit-norm inputs) to the thresholds of trained
     * dictionaries, a few hundredths to a few tenths (Gemma Scope, whose runs go far beyond it).
     */
    public static final double THRESHOLD_TRAVEL = 7;

    /**
     * The factor on the LR for jumprelu's log threshold: max(1, {@link #THRESHOLD_TRAVEL} / (lr * totalSteps)).
     * Adam moves a parameter by at most about its LR per step, and the threshold is trained as log theta, so at the
     * weights' LR theta changes by at most a factor e^(lr * steps): e^0.07 in 1000 steps at Gemma Scope's 7e-5, while
     * the L0 penalty reaches the reconstruction only through theta (Rajamanoharan et al. 2024, section 4). The
     * papers' runs are long enough (Gemma Scope: 7e-5 for about a million steps) and keep the factor 1; a
     * shorter run gets the pace at which theta can still travel that far. Where the threshold settles (where the L0
     * term's pull balances the reconstruction's) does not depend on its LR, only how soon it gets there.
     */
    public double thresholdLrFactor() {
        return Math.max(1, THRESHOLD_TRAVEL / (lr * totalSteps));
    }

    /** The LR of jumprelu's log threshold at 1-based step {@code t}: {@link #lrAt} times {@link #thresholdLrFactor}. */
    public double thresholdLrAt(long t) {
        return lrAt(t) * thresholdLrFactor();
    }

    /** Sparsity coefficient of 1-based step {@code t}. */
    public double l1At(long t) {
        long w = (long) Math.floor(totalSteps * l1WarmupFraction);
        return w > 0 && t <= w ? l1 * t / w : l1;
    }
}
