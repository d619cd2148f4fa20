package dev.saetrain.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.data.ActivationStream;
import dev.saetrain.data.BadInputException;
import dev.saetrain.data.ShardSet;
import dev.saetrain.data.StreamOptions;
import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.export.ExportInfo;
import dev.saetrain.export.SaeLensWriter;
import dev.saetrain.io.AtomicFiles;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs training: validates the data before anything is written, sets up one {@link Engine} per SAE of the
 * family, streams batches (each read, converted and uploaded once, then every SAE steps on it), writes
 * metrics and logs, and exports each SAE in SAELens format with the input normalisation folded in.
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

    /** What a finished run produced. */
    public record Result(Path runDir, List<Path> saeDirs, long tokens, double seconds) {
    }

    /** Trains on {@code shards}; throws BadInputException for bad data (leaving no run directory). */
    public Result run(ShardSet shards) throws IOException {
        Path shardDir = shards.source();
        for (SaeConfig c : opts.saes()) {
            if (c.dIn() != shards.dIn()) {
                throw new IllegalArgumentException("SAE " + c.name() + " expects d_in " + c.dIn()
                        + " but the shards in " + shardDir + " have d = " + shards.dIn());
            }
        }
        long planned = opts.plannedRows(shards.totalRows());
        long totalSteps = planned / opts.batch();
        if (totalSteps < 1) {
            throw new BadInputException(shardDir, shards.totalRows() + " rows make no whole batch of " + opts.batch()
                    + "; lower --batch or add data");
        }
        float scale = ActivationStream.estimateScale(shards, INIT_ROWS, opts.skipNonFinite());
        float[] first = shards.readFirstRows(INIT_ROWS, scale, opts.skipNonFinite());
        int nFirst = first.length / shards.dIn();
        float[] median = GeometricMedian.of(first, nFirst, shards.dIn(), 100, 1e-6);
        LOG.info("data: {} shard(s), {} rows, d = {}; scale {} (E|x| = sqrt(d)); b_dec from the geometric median of {} rows",
                shards.shards().size(), shards.totalRows(), shards.dIn(), scale, nFirst);

        MemoryPlan plan = new MemoryPlan(opts.saes(), opts.batch(), 4L * opts.batch() * shards.dIn());
        LOG.info("memory before the first step (device {}):\n{}", device.describe(), plan.table());
        plan.check(opts.maxMemory(), opts.maxMemorySource());

        Path runDir = opts.outDir().resolve(opts.runName());
        if (Files.exists(runDir)) {
            throw new IllegalArgumentException("run directory " + runDir + " already exists; pick another --name");
        }
        Files.createDirectories(runDir);
        try {
            try (RunLog log = new RunLog(runDir.resolve("train.log"))) {
                return train(shards, runDir, scale, median, totalSteps);
            }
        } catch (BadInputException e) {
            // Bad data met mid-stream (a non-finite row): the run is void, leave nothing behind.
            deleteRunDir(runDir);
            throw e;
        }
    }

    private Result train(ShardSet shards, Path runDir, float scale, float[] median, long totalSteps) throws IOException {
        int d = shards.dIn();
        List<Engine> engines = new ArrayList<>();
        List<Schedule> schedules = new ArrayList<>();
        try (FloatBuf x = device.allocFloat((long) opts.batch() * d);
             MetricsWriter metrics = new MetricsWriter(runDir.resolve("metrics.jsonl"))) {
            for (SaeConfig c : opts.saes()) {
                Schedule sch = Schedule.standard(totalSteps, opts.lrFor(c), c.l1());
                Resampler.Plan resampling = c.arch() == Architecture.RELU_2023
                        ? Resampler.Plan.forRun(totalSteps, opts.resampleEvery(), opts.seed(), sch.decayStart()) : null;
                engines.add(new Engine(device, SaeInit.initial(c, opts.seed(), median), opts.batch(), opts.deadTokens(),
                        resampling));
                schedules.add(sch);
            }
            writeConfig(runDir, shards, scale, totalSteps, schedules, null);
            LOG.info("run {}: {} SAE(s) on {}, {} steps of {} rows", runDir, engines.size(), device.describe(),
                    totalSteps, opts.batch());
            StreamOptions so = StreamOptions.of(opts.batch(), totalSteps * opts.batch(), opts.seed())
                    .withScale(scale).withSkipNonFinite(opts.skipNonFinite());
            float[] host = new float[opts.batch() * d];
            long t0 = System.nanoTime();
            List<FiringTracker> firing = new ArrayList<>();
            List<IntervalStats> intervals = new ArrayList<>();
            for (Engine e : engines) {
                firing.add(new FiringTracker(e.config().nLatents(), schedules.get(0).decayStart()));
                intervals.add(new IntervalStats());
            }
            long step = 0;
            try (ActivationStream stream = new ActivationStream(shards, so);
                 Progress progress = new Progress(totalSteps * opts.batch())) {
                long intervalStart = System.nanoTime();
                while (stream.next(host)) {
                    step++;
                    device.upload(host, 0, x, 0, host.length);
                    for (int i = 0; i < engines.size(); i++) {
                        Engine e = engines.get(i);
                        Schedule s = schedules.get(i);
                        StepStats st = e.step(x, s.lrAt(step), s.l1At(step));
                        if (!Double.isFinite(st.loss())) {
                            throw new IllegalStateException("SAE " + e.config().name() + " diverged at step " + step
                                    + " (loss " + st.loss() + "); lower --lr");
                        }
                        intervals.get(i).add(st);
                    }
                    boolean boundary = step % opts.logEvery() == 0 || step == totalSteps
                            || step + 1 == schedules.get(0).decayStart();
                    if (boundary) {
                        long now = System.nanoTime();
                        double tps = intervals.get(0).rows / ((now - intervalStart) / 1e9);
                        intervalStart = now;
                        for (int i = 0; i < engines.size(); i++) {
                            Engine e = engines.get(i);
                            IntervalStats iv = intervals.get(i);
                            int[] counts = e.takeFireCounts();
                            double denseFrac = FiringTracker.fractionAbove(counts, iv.rows, 0.1);
                            firing.get(i).add(counts, iv.rows, step);
                            if (iv.steps > 0) {
                                metrics.write(metricsRow(e, schedules.get(i), iv, step, denseFrac, tps,
                                        (now - t0) / 1e9));
                                if (i == 0) {
                                    progress.update(step * opts.batch(), tps, iv, e.deadCount(), e.config().nLatents());
                                }
                            }
                            iv.reset();
                        }
                    }
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            long tokens = step * opts.batch();
            List<Path> saeDirs = new ArrayList<>();
            for (int i = 0; i < engines.size(); i++) {
                Engine e = engines.get(i);
                SaeWeights raw = e.weights().foldScale(scale);
                Path dir = runDir.resolve("saes").resolve(e.config().name());
                ExportInfo info = ExportInfo.minimal(opts.runName(), version, tokens, scale)
                        .withHookName(opts.hookName()).withModelName(opts.modelName())
                        .withDatasetPath(shards.source().toString()).withContextSize(opts.contextSize())
                        .withPrependBos(opts.prependBos());
                SaeLensWriter.write(dir, raw, firing.get(i).frequencies(), info);
                saeDirs.add(dir);
                LOG.info("wrote {}", dir);
            }
            ObjectNode done = JSON.createObjectNode();
            done.put("status", "finished");
            done.put("tokens", tokens);
            done.put("seconds", seconds);
            writeConfig(runDir, shards, scale, totalSteps, schedules, done);
            LOG.info("trained {} tokens in {} s ({} tokens/s)", tokens, String.format("%.1f", seconds),
                    String.format("%.0f", tokens / seconds));
            return new Result(runDir, saeDirs, tokens, seconds);
        } finally {
            engines.forEach(Engine::close);
        }
    }

    private ObjectNode metricsRow(Engine e, Schedule s, IntervalStats iv, long step, double denseFrac, double tps,
                                  double elapsed) {
        ObjectNode o = JSON.createObjectNode();
        o.put("sae", e.config().name());
        o.put("step", step);
        o.put("tokens", step * opts.batch());
        o.put("mse", iv.mse());
        o.put("fvu", iv.fvu());
        o.put("explained_variance", 1 - iv.fvu());
        o.put("l0", iv.l0());
        o.put("sparsity_loss", iv.sparsityLoss / iv.steps);
        o.put("auxk_loss", iv.auxLoss / iv.steps);
        o.put("dead_fraction", (double) e.deadCount() / e.config().nLatents());
        o.put("dense_fraction", denseFrac);
        o.put("grad_norm", iv.gradNorm / iv.steps);
        o.put("dense_steps", iv.denseSteps);
        o.put("lr", s.lrAt(step));
        o.put("lambda", s.l1At(step));
        o.put("tokens_per_s", tps);
        o.put("elapsed_s", elapsed);
        return o;
    }

    private void writeConfig(Path runDir, ShardSet shards, float scale, long totalSteps, List<Schedule> schedules,
                             ObjectNode result) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("sae_train_version", version);
        root.put("run_name", opts.runName());
        root.put("device", device.describe());
        root.put("device_choice", deviceChoice);
        root.put("seed", opts.seed());
        ObjectNode data = root.putObject("data");
        data.put("path", shards.source().toString());
        data.put("shards", shards.shards().size());
        data.put("rows", shards.totalRows());
        data.put("d_in", shards.dIn());
        data.put("scale", scale);
        data.put("scale_rule", "E|x| = sqrt(d_in) over the first " + INIT_ROWS + " rows; folded into the exported weights");
        data.put("skip_nonfinite", opts.skipNonFinite());
        ObjectNode tr = root.putObject("training");
        tr.put("batch", opts.batch());
        tr.put("epochs", opts.epochs());
        tr.put("tokens", opts.tokens());
        tr.put("steps", totalSteps);
        tr.put("dead_tokens", opts.deadTokens());
        tr.put("log_every", opts.logEvery());
        tr.put("clip_norm", Engine.CLIP_NORM);
        tr.put("adam_betas", "0.9,0.999");
        var arr = root.putArray("saes");
        for (int i = 0; i < opts.saes().size(); i++) {
            SaeConfig c = opts.saes().get(i);
            Schedule s = schedules.get(i);
            ObjectNode o = arr.addObject();
            o.put("name", c.name());
            o.put("architecture", c.arch().cliName());
            o.put("d_in", c.dIn());
            o.put("n_latents", c.nLatents());
            o.put("k", c.k());
            o.put("l1", c.l1());
            o.put("lr", s.lr());
            o.put("lr_warmup_steps", s.warmupSteps());
            o.put("lr_decay_fraction", s.decayFraction());
            o.put("l1_warmup_fraction", s.l1WarmupFraction());
            o.put("apply_b_dec_to_input", c.applyBDecToInput());
            o.put("tied", c.tied());
            if (c.arch() == Architecture.RELU_2023) {
                Resampler.Plan rp = Resampler.Plan.forRun(totalSteps, opts.resampleEvery(), opts.seed(), s.decayStart());
                o.put("resample_every", rp == null ? 0 : rp.every());
                o.put("resample_window", rp == null ? 0 : rp.window());
                o.put("resample_until", rp == null ? 0 : rp.until());
            }
        }
        if (result != null) {
            root.set("result", result);
        }
        AtomicFiles.writeString(runDir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }

    private static void deleteRunDir(Path runDir) {
        try (var walk = Files.walk(runDir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.error("could not remove the partial run directory {}: {}", runDir, e.getMessage());
        }
    }
}
