package dev.saetrain.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.data.ActivationStream;
import dev.saetrain.data.ShardSet;
import dev.saetrain.data.StreamOptions;
import dev.saetrain.data.StreamPosition;
import dev.saetrain.device.BatchUpload;
import dev.saetrain.device.Device;
import dev.saetrain.device.DeviceMemoryError;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.train.Trainer.End;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The step loop of a run, fresh or resumed: every batch is read and uploaded once, then every SAE still
 * training steps on it; metrics rows at log boundaries; checkpoints every {@link TrainOptions#checkpointSteps()},
 * at the last step and when a stop is requested (SIGTERM/SIGINT), always between two steps.
 *
 * <p>What a resume needs to continue bit for bit is exactly what {@link #checkpoint} saves: engine states,
 * the interval in progress, firing counts, the stream position and the step. Nothing in a step depends on
 * wall time (timing only feeds the tokens_per_s and elapsed_s fields of metrics rows).
 *
 * <p>A non-finite loss or gradient norm (checked every step; with a finite clipped gradient Adam keeps the
 * parameters finite), or a non-finite parameter (checked at every checkpoint, where the state is on the host
 * anyway), stops that SAE only; see {@link FamilyMember}.
 */
final class TrainLoop {
    private static final Logger LOG = LoggerFactory.getLogger(TrainLoop.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Device device;
    private final TrainOptions opts;
    private final ShardSet shards;
    private final float scale;
    private final long totalSteps;
    private final List<FamilyMember> members;
    private final CheckpointStore store;
    private final MetricsWriter metrics;
    private final Supplier<String> stopSignal;
    private final Faults faults;
    private final CheckpointHold hold;
    private long step;
    private long lastCheckpoint;
    private final double elapsedBefore;
    private long t0;

    /**
     * @param startStep      steps already taken (0 for a fresh run)
     * @param lastCheckpoint step of the newest checkpoint, -1 if none
     * @param elapsedBefore  training seconds of earlier sessions
     * @param stopSignal     the name of the signal that asked the run to stop, or null
     */
    TrainLoop(Device device, TrainOptions opts, ShardSet shards, float scale, long totalSteps, List<FamilyMember> members,
              CheckpointStore store, MetricsWriter metrics, long startStep, long lastCheckpoint, double elapsedBefore,
              Supplier<String> stopSignal, Faults faults, CheckpointHold hold) {
        this.device = device;
        this.opts = opts;
        this.shards = shards;
        this.scale = scale;
        this.totalSteps = totalSteps;
        this.members = members;
        this.store = store;
        this.metrics = metrics;
        this.step = startStep;
        this.lastCheckpoint = lastCheckpoint;
        this.elapsedBefore = elapsedBefore;
        this.stopSignal = stopSignal;
        this.faults = faults;
        this.hold = hold;
    }

    long step() {
        return step;
    }

    double elapsed() {
        return elapsedBefore + (System.nanoTime() - t0) / 1e9;
    }

    End run(StreamPosition from) throws IOException {
        int d = shards.dIn();
        StreamOptions so = opts.streamOptions(totalSteps * opts.batch(), scale);
        float[] host = new float[opts.batch() * d];
        long every = opts.checkpointSteps();
        long decayStart = members.get(0).schedule.decayStart();
        t0 = System.nanoTime();
        // Device.batchUpload: one buffer on the CPU; on CUDA pinned slots, so batch n+1's copy overlaps step n.
        try (BatchUpload input = device.batchUpload((long) opts.batch() * d);
             ActivationStream stream = new ActivationStream(shards, so, from);
             Progress progress = new Progress(totalSteps * opts.batch(), step * opts.batch())) {
            long markStep = step;
            long markTime = t0;
            boolean trimmed = false;
            while (true) {
                String signal = stopSignal.get();
                if (signal != null && step < totalSteps) {
                    if (step > lastCheckpoint) {
                        checkpoint(step, stream);
                    }
                    LOG.warn("stopped by {} at step {} of {}; checkpoint {} holds everything; the run {} resumes "
                            + "from it", signal, step, totalSteps, store.latest(), store.dir().getParent());
                    return End.STOPPED;
                }
                if (!stream.next(host)) {
                    return End.FINISHED;
                }
                step++;
                FloatBuf x = input.next(host);
                for (FamilyMember m : members) {
                    if (m.active()) {
                        takeStep(m, x);
                    }
                }
                if (!trimmed) {
                    // Set-up garbage is dead and the stream, the batch slots and the steps' lazily sized scratch
                    // now exist: shrink the heap to them before the young generation spreads over it.
                    trimmed = true;
                    HeapTrim.now("after the first step");
                } else {
                    HeapTrim.ifGrown();
                }
                if (members.stream().noneMatch(FamilyMember::active)) {
                    LOG.error("every SAE of the family diverged by step {}; nothing left to train (lower the "
                            + "learning rate)", step);
                    return End.ALL_DIVERGED;
                }
                if (step % opts.logEvery() == 0 || step == totalSteps || step + 1 == decayStart) {
                    long now = System.nanoTime();
                    double tps = (step - markStep) * opts.batch() / ((now - markTime) / 1e9);
                    markStep = step;
                    markTime = now;
                    logInterval(tps, progress);
                }
                if ((every > 0 && step % every == 0) || step == totalSteps) {
                    checkpoint(step, stream);
                    if (step < totalSteps) {
                        hold.await(step, stopSignal);
                    }
                }
                if (step == faults.killAfterStep()) {
                    throw new Faults.Killed(step);
                }
            }
        }
    }

    private void takeStep(FamilyMember m, FloatBuf x) {
        Schedule s = m.schedule;
        if (m.name().equals(faults.poisonSae()) && step == faults.poisonStep()) {
            Faults.poison(m.engine());
        }
        StepStats st;
        try {
            st = m.engine().step(x, s.lrAt(step), s.l1At(step), s.thresholdLrAt(step));
        } catch (DeviceMemoryError refused) {
            throw refused.forSae(m.name()); // a step's first dense path allocates its scratch
        }
        if (!Double.isFinite(st.loss()) || !Double.isFinite(st.gradNorm())) {
            diverge(m, "loss " + st.loss() + ", gradient norm " + st.gradNorm());
            return;
        }
        m.interval.add(st);
    }

    private void diverge(FamilyMember m, String reason) {
        m.diverge(new FamilyMember.Divergence(step, reason, lastCheckpoint));
        LOG.error("SAE {} diverged at step {} ({}); it stops here and the rest of the family goes on. {} "
                + "Lower its learning rate.", m.name(), step, reason, lastCheckpoint >= 0
                ? "Its last good state is kept in every later checkpoint (taken at step " + lastCheckpoint
                        + "); it is not exported."
                : "No checkpoint holds a good state of it; it is not exported.");
    }

    private void logInterval(double tps, Progress progress) throws IOException {
        boolean first = true;
        for (FamilyMember m : members) {
            if (!m.active()) {
                continue;
            }
            Engine e = m.engine();
            IntervalStats iv = m.interval;
            int[] counts = e.takeFireCounts();
            double denseFrac = FiringTracker.fractionAbove(counts, iv.rows, 0.1);
            m.firing.add(counts, iv.rows, step);
            if (iv.steps > 0) {
                metrics.write(metricsRow(m, denseFrac, tps));
                if (first) {
                    progress.update(step * opts.batch(), tps, iv, e.deadCount(), m.config.nLatents());
                }
            }
            first = false;
            iv.reset();
        }
    }

    private ObjectNode metricsRow(FamilyMember m, double denseFrac, double tps) {
        IntervalStats iv = m.interval;
        Engine e = m.engine();
        ObjectNode o = JSON.createObjectNode();
        o.put("sae", m.name());
        o.put("step", step);
        o.put("tokens", step * opts.batch());
        o.put("mse", iv.mse());
        o.put("fvu", iv.fvu());
        o.put("explained_variance", 1 - iv.fvu());
        o.put("l0", iv.l0());
        o.put("sparsity_loss", iv.sparsityLoss / iv.steps);
        o.put("auxk_loss", iv.auxLoss / iv.steps);
        o.put("dead_fraction", (double) e.deadCount() / m.config.nLatents());
        o.put("dense_fraction", denseFrac);
        o.put("grad_norm", iv.gradNorm / iv.steps);
        o.put("dense_steps", iv.denseSteps);
        o.put("lr", m.schedule.lrAt(step));
        o.put("lambda", m.schedule.l1At(step));
        o.put("tokens_per_s", tps);
        o.put("elapsed_s", elapsed());
        return o;
    }

    /** Writes the checkpoint of the current step (see {@link CheckpointStore} for the crash-safe order). */
    private void checkpoint(long at, ActivationStream stream) throws IOException {
        // The checkpoint this session resumed from or wrote last, not whatever latest names: after a resume that fell
        // back past a damaged checkpoint, latest still names the damaged one until this write replaces it.
        Path previous = lastCheckpoint >= 0 ? store.dir().resolve("step-" + lastCheckpoint) : null;
        Path tmp = store.begin(at);
        try {
            List<Checkpoint.Sae> entries = new ArrayList<>();
            for (FamilyMember m : members) {
                if (m.active()) {
                    FiringTracker.Counts c = m.firing.counts();
                    try {
                        SaeStateFile.write(SaeStateFile.path(tmp, m.name()), m.config, m.engine(), c);
                        entries.add(new Checkpoint.Sae(m.name(), m.engine().stepCount(), m.engine().lastDensity(),
                                m.interval, new long[] {c.allRows(), c.lateRows()}, null));
                        continue;
                    } catch (SaeStateFile.NonFiniteState bad) {
                        diverge(m, "non-finite parameter " + bad.getMessage());
                    }
                }
                FamilyMember.Divergence dv = m.divergence();
                if (dv.lastGoodStep() >= 0) {
                    // Carried forward from checkpoint to checkpoint, so pruning never loses the last good state.
                    Files.copy(SaeStateFile.path(previous, m.name()), SaeStateFile.path(tmp, m.name()));
                }
                entries.add(new Checkpoint.Sae(m.name(), 0, 0, new IntervalStats(), new long[2], dv));
            }
            new Checkpoint(at, totalSteps, opts.batch(), opts.seed(), scale, stream.position(), metrics.syncedLength(),
                    elapsed(), entries).write(tmp);
            store.commit(tmp, at);
        } catch (IOException | RuntimeException e) {
            try {
                store.abort(tmp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        lastCheckpoint = at;
        LOG.info("checkpoint {} written", store.dir().resolve("step-" + at));
    }
}
