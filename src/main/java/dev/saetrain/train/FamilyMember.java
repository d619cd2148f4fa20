package dev.saetrain.train;

import dev.saetrain.error.UsageException;
import dev.saetrain.model.SaeConfig;

/**
 * One SAE of a family as the run loop sees it: its engine, schedule, the metrics interval in progress and its
 * firing counts, or, once it has diverged, only the record of where and why. A diverged member has closed its
 * engine (its device memory is free) and takes no more steps; the rest of the family goes on without it.
 */
final class FamilyMember implements AutoCloseable {
    /**
     * Where and why an SAE stopped.
     *
     * @param step         the step at which a non-finite value was found
     * @param reason       what was non-finite, e.g. "loss NaN"
     * @param lastGoodStep step of the checkpoint that holds its last good state, or -1 when it diverged before
     *                     the run's first checkpoint
     */
    record Divergence(long step, String reason, long lastGoodStep) {
        Divergence {
            if (step < 0 || lastGoodStep < -1 || reason == null || reason.isBlank()) {
                throw new UsageException("divergence record step " + step + ", last good " + lastGoodStep
                        + ", reason '" + reason + "' is invalid; the checkpoint is corrupt");
            }
        }
    }

    final SaeConfig config;
    final Schedule schedule;
    final IntervalStats interval = new IntervalStats();
    final FiringTracker firing;
    private Engine engine;
    private Divergence divergence;

    FamilyMember(SaeConfig config, Schedule schedule, Engine engine) {
        this.config = config;
        this.schedule = schedule;
        this.engine = engine;
        this.firing = new FiringTracker(config.nLatents(), schedule.decayStart());
    }

    String name() {
        return config.name();
    }

    /** The engine; only while the member trains. */
    Engine engine() {
        if (engine == null) {
            throw new IllegalStateException("SAE " + name() + " diverged at step " + divergence.step()
                    + " and has no engine any more");
        }
        return engine;
    }

    boolean active() {
        return divergence == null;
    }

    /** Null while the member trains. */
    Divergence divergence() {
        return divergence;
    }

    /** Stops the member for good and frees its engine. */
    void diverge(Divergence d) {
        divergence = d;
        if (engine != null) {
            engine.close();
            engine = null;
        }
    }

    /** Copies the interval sums of a checkpoint into this member's interval in progress. */
    void restoreInterval(IntervalStats from) {
        interval.steps = from.steps;
        interval.rows = from.rows;
        interval.sse = from.sse;
        interval.centeredSse = from.centeredSse;
        interval.active = from.active;
        interval.sparsityLoss = from.sparsityLoss;
        interval.auxLoss = from.auxLoss;
        interval.gradNorm = from.gradNorm;
        interval.denseSteps = from.denseSteps;
        interval.lastDead = from.lastDead;
    }

    @Override
    public void close() {
        if (engine != null) {
            engine.close();
            engine = null;
        }
    }
}
