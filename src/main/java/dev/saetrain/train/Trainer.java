package dev.saetrain.train;

import static dev.saetrain.error.Setting.BATCH;
import static dev.saetrain.error.Setting.K;
import static dev.saetrain.error.Setting.MAX_MEMORY;
import static dev.saetrain.error.Setting.RESUME;
import static dev.saetrain.error.Setting.RUN_NAME;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.data.ActivationStream;
import dev.saetrain.data.ShardSet;
import dev.saetrain.data.StreamOptions;
import dev.saetrain.device.Device;
import dev.saetrain.device.DeviceMemoryError;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.export.ExportInfo;
import dev.saetrain.export.SaeLensWriter;
import dev.saetrain.io.HostMatrix;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs training: validates the data before anything is written, sets up one {@link Engine} per SAE of the
 * family (fresh, or restored from the run's latest checkpoint), runs the {@link TrainLoop} (batches read and
 * uploaded once, then every SAE steps on them; metrics; checkpoints), and exports each SAE that did not
 * diverge in SAELens format with the input normalisation folded in.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Rows used for the normalisation factor and the geometric median (Gao et al. 2024 use a sample). */
    static final int INIT_ROWS = 32768;

    private final Device device;
    private final String deviceChoice;
    private final TrainOptions opts;
    private final String version;
    private volatile String stopSignal;
    private Faults faults = Faults.NONE;
    /** The largest pre-activation block a row-blocking engine keeps whole: chosen by checkMemory from the budget. */
    private long preBlockBytes = SharedParts.PRE_BLOCK_BYTES;

    /**
     * @param deviceChoice how the device was chosen (recorded in config.json), e.g. "cpu (asked)"
     * @param version      sae-train version for cfg.json and config.json
     */
    public Trainer(Device device, String deviceChoice, TrainOptions opts, String version) {
        this.device = device;
        this.deviceChoice = deviceChoice;
        this.opts = opts;
        this.version = version;
    }

    /**
     * What a run produced.
     *
     * @param saeDirs  the exported dictionaries (diverged SAEs have none)
     * @param tokens   tokens trained on so far
     * @param seconds  training time over all sessions of the run
     * @param end      finished, stopped by a signal (a checkpoint holds everything), or every SAE diverged
     * @param diverged names of the SAEs that diverged, each with its step
     */
    public record Result(Path runDir, List<Path> saeDirs, long tokens, double seconds, End end, List<String> diverged) {
    }

    /** How a run ended (TrainLoop.run returns it too). */
    public enum End { FINISHED, STOPPED, ALL_DIVERGED }

    /**
     * Asks the running loop to write a checkpoint at the next step boundary and return {@link End#STOPPED}.
     * Safe to call from any thread (a signal handler); the first request wins.
     */
    public void requestStop(String signal) {
        if (stopSignal == null) {
            stopSignal = signal;
        }
    }

    /** Test seam (see {@link Faults}). */
    void setFaults(Faults f) {
        this.faults = f;
    }

    /**
     * b_dec's initial value from the data ({@code --b-dec-init}, resolved per architecture): the geometric median or
     * the mean of the first {@link #INIT_ROWS} rows, or zero when no SAE of the run starts from either (an SAE that
     * starts at zero takes zeros in {@link #train}). The sample (INIT_ROWS x d floats on the heap) is unreachable once
     * this returns, so the set-up trim releases it.
     */
    private float[] initialDecoderBias(ShardSet shards, float scale) throws IOException {
        Recipe.BDecInit how = opts.saes().stream().map(c -> opts.recipe().bDecInit().resolve(c.arch()))
                .filter(b -> b != Recipe.BDecInit.ZERO).findFirst().orElse(Recipe.BDecInit.ZERO);
        String scaleRule = opts.recipe().normalize() == Recipe.Normalize.SQRT_D ? "E|x| = sqrt(d)" : "raw inputs";
        if (how == Recipe.BDecInit.ZERO) {
            LOG.info("data: {} shard(s), {} rows, d = {}; scale {} ({}); b_dec starts at zero", shards.shards().size(),
                    shards.totalRows(), shards.dIn(), scale, scaleRule);
            return new float[shards.dIn()];
        }
        float[] first = shards.readFirstRows(INIT_ROWS, scale, opts.skipNonFinite());
        int nFirst = first.length / shards.dIn();
        LOG.info("data: {} shard(s), {} rows, d = {}; scale {} ({}); b_dec from the {} of {} rows{}",
                shards.shards().size(), shards.totalRows(), shards.dIn(), scale, scaleRule,
                how == Recipe.BDecInit.MEDIAN ? "geometric median" : "mean", nFirst,
                opts.saes().stream().anyMatch(c -> opts.recipe().bDecInit().resolve(c.arch()) == Recipe.BDecInit.ZERO)
                        ? " (relu's from zero)" : "");
        return how == Recipe.BDecInit.MEDIAN ? GeometricMedian.of(first, nFirst, shards.dIn(), 100, 1e-6)
                : mean(first, nFirst, shards.dIn());
    }

    /** Column means of {@code rows} [n, d], summed in double. */
    static float[] mean(float[] rows, int n, int d) {
        double[] sum = new double[d];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < d; j++) {
                sum[j] += rows[r * d + j];
            }
        }
        float[] out = new float[d];
        for (int j = 0; j < d; j++) {
            out[j] = n > 0 ? (float) (sum[j] / n) : 0f;
        }
        return out;
    }

    /** The input scale ({@code --normalize}): E|x| = sqrt(d) over the first rows, or 1 for raw inputs. */
    private float inputScale(ShardSet shards) {
        return opts.recipe().normalize() == Recipe.Normalize.SQRT_D
                ? ActivationStream.estimateScale(shards, INIT_ROWS, opts.skipNonFinite()) : 1f;
    }

    /** Trains on {@code shards}; throws BadInputException for bad data (leaving no run directory unless it holds a checkpoint). */
    public Result run(ShardSet shards) throws IOException {
        long totalSteps = checkShapes(shards);
        float scale = inputScale(shards);
        float[] median = initialDecoderBias(shards, scale);
        checkMemory(shards);

        Path runDir = opts.outDir().resolve(opts.runName());
        if (Files.exists(runDir)) {
            throw exists(runDir);
        }
        Files.createDirectories(opts.outDir());
        try {
            // createDirectory, not createDirectories: of two processes starting the same --name, one gets here first.
            Files.createDirectory(runDir);
        } catch (java.nio.file.FileAlreadyExistsException raced) {
            throw exists(runDir).because(raced);
        }
        try (RunLock lock = RunLock.acquire(runDir, "train into")) {
            return trainNew(shards, runDir, scale, median, totalSteps);
        }
    }

    private static UsageException exists(Path runDir) {
        return UsageException.of("run directory " + runDir + " already exists; pick another ", RUN_NAME,
                ", or continue it with ", RESUME, " " + runDir);
    }

    private Result trainNew(ShardSet shards, Path runDir, float scale, float[] median, long totalSteps)
            throws IOException {
        try {
            try (RunLog log = new RunLog(runDir.resolve("train.log"))) {
                List<Schedule> schedules = schedules(totalSteps);
                ObjectNode config = RunConfig.create(opts, shards, scale, totalSteps, schedules, device.describe(),
                        deviceChoice, version);
                RunConfig.save(runDir, config);
                return train(shards, runDir, config, scale, median, totalSteps, null, null);
            }
        } catch (BadInputException e) {
            // Bad data met mid-stream (a non-finite row). Before the first checkpoint the run is void: leave nothing
            // behind. After it the checkpoints are work a user can resume once the rows are fixed: never delete them.
            CheckpointStore store = new CheckpointStore(runDir);
            Path checkpoints = store.dir();
            if (store.stepDirs().isEmpty()) {
                deleteRunDir(runDir);
                throw e;
            }
            throw e.extended("; the run's checkpoints in " + checkpoints + " are kept: replace the bad values in place "
                    + "(same shape) and continue with: sae-train train ", RESUME, " " + runDir);
        }
    }

    /**
     * Continues the run in {@code runDir} from its latest checkpoint. The options must be the run's own
     * ({@link RunConfig#trainOptions}). Refuses (UsageException) a finished run, a run without a
     * checkpoint, and data other than the run's.
     */
    public Result resume(ShardSet shards, Path runDir) throws IOException {
        // Locked before anything is read: another process resuming or training it would change it under us.
        try (RunLock lock = RunLock.acquire(runDir, "resume")) {
            return resumeLocked(shards, runDir, lock);
        }
    }

    private Result resumeLocked(ShardSet shards, Path runDir, RunLock lock) throws IOException {
        ObjectNode config = RunConfig.load(runDir);
        if (config.has("result")) {
            throw new UsageException("run " + runDir + " already ended (" + config.at("/result/status").asText()
                    + " in " + runDir.resolve(RunConfig.FILE) + "); nothing to resume, its dictionaries are in "
                    + runDir.resolve("saes"));
        }
        RunConfig.checkSameData(config, shards, runDir);
        long totalSteps = checkShapes(shards);
        CheckpointStore store = new CheckpointStore(runDir);
        List<String> names = opts.saes().stream().map(SaeConfig::name).toList();
        // The newest checkpoint that verifies and fits the run; damaged newer ones are passed over (see CheckpointCheck).
        CheckpointCheck.Chosen chosen = CheckpointCheck.choose(store, ck -> {
            List<String> saved = ck.saes().stream().map(Checkpoint.Sae::name).toList();
            return ck.totalSteps() == totalSteps && ck.batch() == opts.batch() && ck.seed() == opts.seed()
                    && names.equals(saved) ? null : "written for " + ck.totalSteps() + " steps of " + ck.batch()
                    + " rows, seed " + ck.seed() + ", SAEs " + saved + "; config.json now gives " + totalSteps
                    + " steps of " + opts.batch() + ", seed " + opts.seed() + ", SAEs " + names
                    + " (restore the run's config.json)";
        });
        if (chosen == null) {
            throw UsageException.of("run " + runDir + " has no checkpoint (" + store.dir().resolve(CheckpointStore.LATEST)
                    + " is missing): it stopped before its first one; start it again under a new ", RUN_NAME);
        }
        Checkpoint ck = chosen.checkpoint();
        Path from = chosen.dir();
        float scale = inputScale(shards);
        if (Float.floatToRawIntBits(scale) != Float.floatToRawIntBits(ck.scale())) {
            throw new UsageException("the data in " + shards.source() + " differs from the run's: its first rows "
                    + "give the input scale " + scale + ", the run had " + ck.scale() + "; resume with the original shards");
        }
        checkMemory(shards);
        store.removeTemporaries();
        try (RunLog log = new RunLog(runDir.resolve("train.log"))) {
            // Logged here, once train.log is open, so the run's own log says what a resume passed over.
            lock.warnIfTakenOver();
            if (chosen.pointer() != null) {
                LOG.warn("{}; looking for the newest checkpoint that verifies", chosen.pointer());
            }
            for (CheckpointCheck.Verdict v : chosen.skipped()) {
                LOG.warn("checkpoint {} is not usable: {}; falling back to an older one", v.dir(), v.problem());
            }
            if (chosen.verdict().status() == CheckpointCheck.Status.UNVERIFIABLE) {
                LOG.warn("checkpoint {} was written before checkpoints carried checksums ({} is absent): its contents "
                        + "are checked, its bytes cannot be verified", from, CheckpointManifest.FILE);
            }
            LOG.info("resuming {} from {} (step {} of {})", runDir, from, ck.step(), totalSteps);
            // train() records the resume in config.json only once the checkpoint's state has been read back.
            return train(shards, runDir, config, scale, new float[shards.dIn()], totalSteps, ck, from);
        }
    }

    private long checkShapes(ShardSet shards) {
        Path shardDir = shards.source();
        for (SaeConfig c : opts.saes()) {
            if (c.dIn() != shards.dIn()) {
                throw new UsageException("SAE " + c.name() + " expects d_in " + c.dIn()
                        + " but the shards in " + shardDir + " have d = " + shards.dIn());
            }
            long picks = (long) opts.batch() * c.k();
            if ((c.arch() == Architecture.BATCHTOPK || c.arch() == Architecture.MATRYOSHKA)
                    && picks > Integer.MAX_VALUE) {
                // Their k * B picks are one CSR over the whole batch, with int32 row pointers (docs/design.md).
                throw new UsageException(BATCH, opts.batch() + " times ", K, " " + c.k() + " of SAE " + c.name()
                        + " is " + picks + " picks a step, past 2^31 - 1; lower ", BATCH, " or ", K);
            }
        }
        long batchFloats = (long) opts.batch() * shards.dIn();
        if (batchFloats > HostMatrix.MAX_ARRAY) {
            // The batch is one host array (the stream's buffers, the upload's source).
            throw new UsageException(BATCH, opts.batch() + " rows of d = " + shards.dIn() + " are " + batchFloats
                    + " floats, more than one host buffer holds (" + HostMatrix.MAX_ARRAY + "); lower ", BATCH,
                    " to at most " + HostMatrix.MAX_ARRAY / shards.dIn());
        }
        long totalSteps = opts.plannedRows(shards.totalRows()) / opts.batch();
        if (totalSteps < 1) {
            throw new BadInputException(shardDir, shards.totalRows() + " rows make no whole batch of " + opts.batch()
                    + "; lower ", BATCH, " or add data");
        }
        // Refused here, before anything is written, rather than when the stream opens.
        int shuffleRows = opts.streamOptions(0, 1f).resolvedShuffleRows(shards.dIn(), shards.totalRows());
        LOG.info("data order: a shuffle buffer of {} of the {} rows ({})", shuffleRows, shards.totalRows(),
                StreamOptions.shuffleRowsText(opts.shuffleRows()));
        return totalSteps;
    }

    private void checkMemory(ShardSet shards) {
        java.util.OptionalLong free = device.freeMemoryBytes();
        long budget = free.isPresent() ? DeviceMemory.usable(free.getAsLong()) : opts.maxMemory();
        if (free.isPresent() && opts.maxMemoryGiven()) {
            budget = Math.min(budget, opts.maxMemory());
        }
        MemoryPlan plan = MemoryPlan.fitting(opts.saes(), opts.batch(), 4L * opts.batch() * shards.dIn(),
                device.sparseSwitch(), budget);
        preBlockBytes = plan.preBlockBytes();
        LOG.info("memory before the first step (device {}):\n{}", device.describe(), plan.table());
        if (free.isPresent()) {
            // The SAEs' buffers live in GPU memory: check them against what the device has free (see DeviceMemory).
            DeviceMemory.check(plan, free.getAsLong(), device.describe());
            if (opts.maxMemoryGiven()) {
                plan.check(opts.maxMemory(), true);
            }
        } else {
            long hard = MemoryPlan.hardLimit();
            if (opts.maxMemoryGiven() && opts.maxMemory() > hard) {
                // The CPU buffers are native memory: a budget past the machine's would pass this check and then
                // end in the kernel's OOM killer mid-run.
                throw new UsageException(MAX_MEMORY, MemoryPlan.human(opts.maxMemory()) + " is more "
                        + "than this JVM can use (" + MemoryPlan.human(hard) + ": physical memory less the JVM's heap "
                        + "limit); give at most that");
            }
            LOG.info("memory limit {}: {}", MemoryPlan.human(opts.maxMemory()),
                    opts.maxMemoryGiven() ? "asked for" : MemoryPlan.defaultBudgetSource());
            plan.check(opts.maxMemory(), opts.maxMemoryGiven());
        }
        checkHeap(opts.saes(), Runtime.getRuntime().maxMemory());
    }

    /**
     * Refuses, before anything is built, a family whose largest SAE's W_enc and W_dec cannot both be on the Java heap:
     * the host holds them together while it initialises the SAE and again while it exports it (host matrices, paged,
     * may pass 2^31 elements; the heap limit is what bounds them). A run refused at its export would have trained for
     * nothing.
     */
    static void checkHeap(List<SaeConfig> saes, long maxHeap) {
        SaeConfig largest = saes.stream().max(java.util.Comparator.comparingLong(c -> (long) c.dIn() * c.nLatents()))
                .orElseThrow();
        long need = 2L * 4 * largest.dIn() * largest.nLatents();
        if (need > maxHeap) {
            long gib = (need + need / 4 + (1L << 30) - 1) >> 30; // a quarter more for everything else on the heap
            throw new UsageException(String.format(java.util.Locale.ROOT, "SAE %s needs %s of Java heap for its W_enc "
                    + "and W_dec on the host (while it is initialised and exported), more than this JVM's %s; run java "
                    + "-Xmx%dg -jar ... (JAVA_OPTS=-Xmx%<dg for bin/sae-train)", largest.name(), MemoryPlan.human(need),
                    MemoryPlan.human(maxHeap), gib));
        }
    }

    private List<Schedule> schedules(long totalSteps) {
        List<Schedule> s = new ArrayList<>();
        for (SaeConfig c : opts.saes()) {
            s.add(Schedule.of(totalSteps, opts.lrFor(c), c.l1(), opts.recipe()));
        }
        return s;
    }

    /** Builds the family (from checkpoint {@code ck} in {@code ckDir} when given), runs the loop, exports. */
    private Result train(ShardSet shards, Path runDir, ObjectNode config, float scale, float[] median, long totalSteps,
                         Checkpoint ck, Path ckDir) throws IOException {
        List<Schedule> schedules = schedules(totalSteps);
        List<FamilyMember> members = new ArrayList<>();
        CheckpointStore store = new CheckpointStore(runDir);
        Path metricsFile = runDir.resolve("metrics.jsonl");
        try {
            // Built (and, on a resume, restored) before metrics.jsonl is truncated or config.json rewritten: a
            // checkpoint that cannot be read back leaves the run exactly as it was.
            for (int i = 0; i < opts.saes().size(); i++) {
                SaeConfig c = opts.saes().get(i);
                Checkpoint.Sae saved = ck == null ? null : ck.saes().get(i);
                Engine e;
                try {
                    e = saved != null && saved.divergence() != null ? null
                            : new Engine(device, SaeInit.initial(c, opts.seed(), opts.recipe().bDecInit().resolve(
                                    c.arch()) == Recipe.BDecInit.ZERO ? new float[median.length] : median),
                                    opts.batch(), opts.deadTokens(),
                                    c.arch().resamplesDeadLatents() ? Resampler.Plan.forRun(totalSteps,
                                            opts.resampleEvery(), opts.seed(), schedules.get(i).resampleUntil()) : null,
                                    opts.recipe().auxkCoef(), (float) opts.recipe().adamEps(), preBlockBytes);
                } catch (DeviceMemoryError refused) {
                    throw refused.forSae(c.name());
                }
                FamilyMember m = new FamilyMember(c, schedules.get(i), e);
                members.add(m);
                HeapTrim.afterLarge(c, "after building " + c.name());
                if (saved != null) {
                    restore(m, saved, ckDir);
                }
            }
            if (ck != null) {
                config.withArray("resumed").addObject().put("from_step", ck.step()).put("device", device.describe());
                RunConfig.save(runDir, config);
                if (Files.exists(metricsFile) && Files.size(metricsFile) < ck.metricsBytes()) {
                    LOG.warn("{} has {} bytes, fewer than the {} the checkpoint recorded; rows before the checkpoint "
                            + "were lost (training itself is unaffected)", metricsFile, Files.size(metricsFile),
                            ck.metricsBytes());
                }
            }
            try (MetricsWriter metrics = new MetricsWriter(metricsFile, ck == null ? -1 : ck.metricsBytes())) {
                LOG.info("run {}: {} SAE(s) on {}, {} steps of {} rows", runDir, members.size(), device.describe(),
                        totalSteps, opts.batch());
                TrainLoop loop = new TrainLoop(device, opts, shards, scale, totalSteps, members, store, metrics,
                        ck == null ? 0 : ck.step(), ck == null ? -1 : ck.step(), ck == null ? 0 : ck.elapsedSeconds(),
                        () -> stopSignal, faults, CheckpointHold.fromEnvironment());
                End end = loop.run(ck == null ? null : ck.position());
                long tokens = loop.step() * opts.batch();
                double seconds = loop.elapsed();
                List<String> diverged = new ArrayList<>();
                for (FamilyMember m : members) {
                    if (!m.active()) {
                        diverged.add(m.name() + " (step " + m.divergence().step() + ")");
                    }
                }
                if (end == End.STOPPED) {
                    return new Result(runDir, List.of(), tokens, seconds, end, diverged);
                }
                List<Path> saeDirs = end == End.FINISHED ? export(members, runDir, shards, scale, tokens) : List.of();
                ObjectNode done = JSON.createObjectNode();
                done.put("status", end == End.FINISHED ? "finished" : "diverged");
                done.put("tokens", tokens);
                done.put("seconds", seconds);
                var div = done.putArray("diverged");
                for (FamilyMember m : members) {
                    if (!m.active()) {
                        FamilyMember.Divergence d = m.divergence();
                        div.addObject().put("sae", m.name()).put("step", d.step()).put("reason", d.reason())
                                .put("last_good_checkpoint", d.lastGoodStep() >= 0 ? "checkpoints/step-" + d.lastGoodStep()
                                        + " (carried into every later checkpoint)" : null);
                    }
                }
                config.set("result", done);
                RunConfig.save(runDir, config);
                LOG.info("trained {} tokens in {} s ({} tokens/s)", tokens, String.format("%.1f", seconds),
                        String.format("%.0f", tokens / seconds));
                return new Result(runDir, saeDirs, tokens, seconds, end, diverged);
            }
        } finally {
            members.forEach(FamilyMember::close);
        }
    }

    private static void restore(FamilyMember m, Checkpoint.Sae saved, Path dir) throws IOException {
        if (saved.divergence() != null) {
            m.diverge(saved.divergence());
            return;
        }
        try (SaeStateFile.Loaded t = SaeStateFile.read(SaeStateFile.path(dir, m.name()), m.config)) {
            m.engine().restore(new EngineState(t.floats(), t.ints(), saved.engineStep(), saved.lastDensity(),
                    t.matrices()));
            m.firing.restore(new FiringTracker.Counts(t.firingAll(), t.firingLate(), saved.firingRows()[0],
                    saved.firingRows()[1]));
        }
        m.restoreInterval(saved.interval());
    }

    private List<Path> export(List<FamilyMember> members, Path runDir, ShardSet shards, float scale, long tokens)
            throws IOException {
        List<Path> saeDirs = new ArrayList<>();
        for (FamilyMember m : members) {
            if (!m.active()) {
                LOG.warn("SAE {} diverged at step {}; not exported", m.name(), m.divergence().step());
                continue;
            }
            Path dir = runDir.resolve("saes").resolve(m.name());
            ExportInfo info = ExportInfo.minimal(opts.runName(), version, tokens, scale)
                    .withHookName(opts.hookName()).withModelName(opts.modelName())
                    .withDatasetPath(shards.source().toString()).withContextSize(opts.contextSize())
                    .withPrependBos(opts.prependBos()).withTraining(training(m.schedule, m.config));
            exportOne(m, dir, scale, info);
            saeDirs.add(dir);
            LOG.info("wrote {}", dir);
            HeapTrim.afterLarge(m.config, "after exporting " + m.name());
        }
        return saeDirs;
    }

    /** The schedule and recipe of one SAE, for metadata.sae_train in its cfg.json (b_dec's start as resolved). */
    private ExportInfo.Training training(Schedule s, SaeConfig c) {
        Recipe r = opts.recipe();
        return new ExportInfo.Training(s.lr(), s.warmupSteps(), s.decayFraction(), s.l1WarmupFraction(),
                r.bDecInit().resolve(c.arch()).cliName(), r.normalize().cliName(), r.auxkCoef(), r.adamEps(),
                c.arch() == Architecture.JUMPRELU ? s.thresholdLrFactor() : 1);
    }

    /**
     * Writes one SAE; its downloaded weights are garbage once this returns. Its gradients and Adam moments are freed
     * first (the last checkpoint is written), so the host copy takes their place instead of topping the planned memory.
     */
    private static void exportOne(FamilyMember m, Path dir, float scale, ExportInfo info) throws IOException {
        m.engine().releaseOptimizerState();
        SaeWeights raw = m.engine().weights().foldScaleInPlace(scale);
        SaeLensWriter.write(dir, raw, m.firing.frequencies(), info);
    }

    private static void deleteRunDir(Path runDir) {
        try {
            CheckpointStore.deleteTree(runDir);
        } catch (IOException e) {
            LOG.error("could not remove the partial run directory {}: {}", runDir, e.getMessage());
        }
    }
}
