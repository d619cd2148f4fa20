package dev.saetrain.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.data.ShardSet;
import dev.saetrain.data.StreamOptions;
import dev.saetrain.error.UsageException;
import dev.saetrain.export.ExportInfo;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.train.MemoryPlan;
import dev.saetrain.train.Recipe;
import dev.saetrain.train.RunConfig;
import dev.saetrain.train.TrainOptions;
import dev.saetrain.train.Trainer;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code sae-train train SHARD_DIR}: trains an SAE and writes runs/NAME/. */
@Command(name = "train", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Trains an SAE on the activations in SHARD_DIR (.npy / .safetensors shards) and writes "
                + "OUT/NAME/: config.json, metrics.jsonl, train.log, checkpoints/ and saes/<sae>/ in SAELens format. "
                + "Exit codes: 0 done, 1 failure (or every SAE diverged), 2 bad input, 143/130 stopped by "
                + "SIGTERM/SIGINT after writing a checkpoint (continue with --resume).")
final class TrainCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

    @Parameters(index = "0", arity = "0..1", paramLabel = "SHARD_DIR",
            description = "Directory of shards (or one shard file). With --resume it may be left out.")
    Path shardDir;

    @Option(names = "--resume", paramLabel = "RUN_DIR",
            description = "Continue the run in RUN_DIR (e.g. runs/NAME) from its latest checkpoint, with the options "
                    + "in its config.json. Only SHARD_DIR, --device, --threads and --max-memory may be given with it.")
    Path resume;

    @Option(names = "--checkpoint-every", paramLabel = "TOKENS", defaultValue = "50000000",
            description = "Tokens between checkpoints (rounded up to whole batches); 0: only at the end and on "
                    + "SIGTERM/SIGINT. Default: ${DEFAULT-VALUE}.")
    long checkpointEvery;

    @Option(names = "--arch", defaultValue = "topk", description = "topk | relu | relu-2023 | batchtopk | jumprelu | "
            + "matryoshka | gated. Default: ${DEFAULT-VALUE}.")
    String arch;

    @Option(names = "--k", defaultValue = "32", split = ",", paramLabel = "K[,K...]",
            description = "Active latents per row (topk; the mean per row for batchtopk and matryoshka, which keep k * batch per batch); a list trains one SAE per value. Default: ${DEFAULT-VALUE}.")
    List<Integer> ks;

    @Option(names = "--groups", split = ",", paramLabel = "N[,N...]",
            description = "matryoshka: sizes of the consecutive latent groups, in latents, summing to n_latents "
                    + "(e.g. 64,64,128,256,512 for 1024 latents); prefix j = the first j+1 groups, and each prefix must "
                    + "reconstruct the input alone. Default: prefixes of n/16, n/8, n/4, n/2 and n latents.")
    List<Integer> groups;

    @Option(names = "--expansion", defaultValue = "16", split = ",", paramLabel = "X[,X...]",
            description = "Latents per input dimension; a list (1,2,4,...,256) trains the whole family in one pass. "
                    + "Default: ${DEFAULT-VALUE}.")
    List<Integer> expansions;

    @Option(names = "--l1", defaultValue = "5.0", split = ",", paramLabel = "L[,L...]",
            description = "Sparsity coefficient lambda (relu, relu-2023, gated; reached after a 5%% warm-up); a list trains one "
                    + "SAE per value. Default: ${DEFAULT-VALUE}.")
    List<Double> l1s;

    @Option(names = "--tied", description = "W_enc = W_dec^T, one matrix with unit-norm rows (Cunningham et al. 2023); "
            + "relu and topk. Exported untied, so SAELens loads it as a normal SAE.")
    boolean tied;

    @Option(names = "--apply-b-dec-to-input", arity = "1", defaultValue = "true", paramLabel = "true|false",
            description = "Whether the encoder sees x - b_dec (true) or x itself (false: pre = x W_enc + b_enc, "
                    + "SAELens's apply_b_dec_to_input = False, as its April 2024 relu recipe sets it). "
                    + "Default: ${DEFAULT-VALUE}.")
    boolean applyBDecToInput;

    @Option(names = "--resample-every", paramLabel = "STEPS",
            description = "relu-2023: resample latents dead for the last STEPS/2 steps every STEPS steps, until the LR "
                    + "decay; 0 turns resampling off. Default: a fifth of the run (resamplings at 20, 40, 60 and 80 %%; with a decay, none after it starts).")
    Integer resampleEvery;
    @Option(names = "--l0-coef", defaultValue = "1.0", split = ",", paramLabel = "L[,L...]",
            description = "L0 coefficient lambda (jumprelu; loss = mse + lambda * L0, reached after a 5%% warm-up); "
                    + "a list trains one SAE per value. Default: ${DEFAULT-VALUE}.")
    List<Double> l0Coefs;

    @Option(names = "--warmup", paramLabel = "STEPS|F",
            description = "LR warm-up: whole steps (e.g. 500; 0: none) or a fraction of the run 0 < F < 1 (e.g. 0.05). "
                    + "auto: min(1000 steps, 5%% of the run). Default: 0 (none).")
    String warmup;

    @Option(names = "--decay", paramLabel = "F",
            description = "Fraction of the run over which the LR decays linearly to 0 at the end; 0: constant LR. "
                    + "Default: 0 (the original recipe's 0.2 decays over the last fifth).")
    Double decay;

    @Option(names = "--b-dec-init", paramLabel = "auto|median|mean|zero",
            description = "b_dec's start: geometric median or mean of the first 32768 rows, or zero. Default: auto "
                    + "(zero for relu, median for the others).")
    String bDecInit;

    @Option(names = "--normalize", paramLabel = "sqrt-d|none",
            description = "Input scaling: sqrt-d scales inputs so that E|x| = sqrt(d) (factor folded into the exported "
                    + "weights); none trains on raw inputs. Default: sqrt-d.")
    String normalize;

    @Option(names = "--auxk-coef", paramLabel = "C",
            description = "Weight of the AuxK loss (topk, batchtopk, matryoshka); 0 turns it off. Default: 0.03125 (1/32).")
    Double auxkCoef;

    @Option(names = "--adam-eps", paramLabel = "E", description = "Adam's epsilon. Default: 1e-8.")
    Double adamEps;

    @Option(names = "--max-memory", paramLabel = "SIZE",
            description = "Memory the family may use (e.g. 12g); checked before the first step. Default: physical "
                    + "memory less a head room of max(1 GiB, 10%%) and less the JVM's heap limit (-Xmx).")
    String maxMemory;

    @Option(names = "--batch", defaultValue = "4096", description = "Rows per step. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--lr", description = "Peak learning rate. Default: topk, batchtopk, matryoshka and jumprelu "
            + "2e-4 / sqrt(n_latents / 2^14), relu and relu-2023 5e-5, gated 3e-4.")
    Double lr;

    static final class Length {
        @Option(names = "--epochs", description = "Passes over the data. Default: 1.")
        Integer epochs;

        @Option(names = "--tokens", description = "Rows (tokens) to train on, instead of whole epochs.")
        Long tokens;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Length length;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of initialisation and data order. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--dead-tokens", defaultValue = "10000000",
            description = "Tokens without firing after which a latent counts as dead (AuxK). Default: ${DEFAULT-VALUE}.")
    long deadTokens;

    @Option(names = "--log-every", defaultValue = "50", description = "Steps between metric rows. Default: ${DEFAULT-VALUE}.")
    int logEvery;

    @Option(names = "--skip-nonfinite", description = "Skip and count rows holding NaN/Inf instead of failing.")
    boolean skipNonFinite;

    @Option(names = "--shuffle-rows", paramLabel = "auto|all|ROWS",
            description = "Rows in the shuffle buffer that mixes the shards (it holds row ids, 8 bytes a row; the data "
                    + "stay in the mapped shards): all draws a uniform permutation of the data set each epoch, best "
                    + "when the shards fit in RAM. Default: auto, max(8 x batch, 2^26 / d_in) rows.")
    String shuffleRows;

    @Option(names = "--column", paramLabel = "NAME",
            description = "Hook column of a SAELens activation cache (a datasets folder). Default: its only 2-D float column.")
    String column;

    @Option(names = "--hook-name", defaultValue = "unknown",
            description = "Hook the activations came from (e.g. blocks.6.hook_resid_post), for SAELens. Default: ${DEFAULT-VALUE}.")
    String hookName;

    @Option(names = "--model-name", defaultValue = "unknown",
            description = "Model the activations came from (e.g. gpt2), for SAELens. Default: ${DEFAULT-VALUE}.")
    String modelName;

    @Option(names = "--context-size", description = "Tokens per context the activations were cached with, for SAELens.")
    Integer contextSize;

    @Option(names = "--prepend-bos", arity = "1", description = "true | false: whether contexts started with BOS, for SAELens.")
    Boolean prependBos;

    @Option(names = "--out", defaultValue = "runs", description = "Parent directory of runs. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Option(names = "--name", description = "Run name (folder under --out). Default: <data>-<arch>-<time>.")
    String name;

    @Mixin
    DeviceOptions deviceOptions;

    @Spec
    CommandSpec spec;

    /** Options that may accompany --resume: they choose the machine, not the run. */
    private static final Set<String> RESUME_OPTIONS = Set.of("--resume", "--device", "--threads", "--max-memory");

    @Override
    public Integer call() throws Exception {
        if (resume != null) {
            return resumeRun();
        }
        if (shardDir == null) {
            throw new UsageException("SHARD_DIR is required (or --resume RUN_DIR to continue a run)");
        }
        deviceOptions.threads();
        budget();
        Architecture.parse(arch);
        // Opening validates every shard's header before anything is written.
        ShardSet shards = ShardSet.open(shardDir, column);
        return train(options(shards), shards, null);
    }

    /**
     * Every option checked and resolved against {@code shards}, without writing anything or opening a device: what
     * train does before its first write and what {@code sweep plan} checks each task with. What depends on the
     * machine that will run (cores for --threads, memory for --max-memory) is checked when the run starts.
     */
    TrainOptions options(ShardSet shards) {
        long budget = budget();
        Architecture a = Architecture.parse(arch);
        if (lr != null && lr.isNaN()) {
            // NaN is TrainOptions' "default" sentinel: an explicit NaN must not silently mean the default.
            throw new UsageException("--lr must be a positive finite number, got NaN; leave it out for the "
                    + "architecture's default");
        }
        List<SaeConfig> family = family(a, shards.dIn());
        String runName = name != null ? name : defaultName(a);
        int epochs = length != null && length.epochs != null ? length.epochs : 1;
        long tokens = length != null && length.tokens != null ? length.tokens : 0;
        if (length != null && length.tokens != null && tokens < 1) {
            throw new UsageException("--tokens must be >= 1, got " + tokens);
        }
        // --threads 0 (the default) records the cores of the machine that starts the run; TrainOptions refuses < 0.
        int threads = deviceOptions.threads == 0 ? Runtime.getRuntime().availableProcessors() : deviceOptions.threads;
        // A SAELens cache names its hook and context size itself; flags given by the user still win.
        String hook = hookName;
        Integer context = contextSize;
        if (shards.arrowCache().isPresent()) {
            if (hook.equals(ExportInfo.UNKNOWN)) {
                hook = shards.arrowCache().get().column();
            }
            if (context == null) {
                context = shards.arrowCache().get().contextSize();
            }
        }
        return new TrainOptions(family, batch, lr == null ? Double.NaN : lr, epochs, tokens, seed,
                deadTokens, logEvery, skipNonFinite, out, runName, hook, modelName, context, prependBos,
                budget, maxMemory != null, checkpointEvery, threads, resampleEvery == null ? -1 : resampleEvery, recipe(),
                shuffleRows == null ? StreamOptions.AUTO_ROWS : StreamOptions.parseShuffleRows(shuffleRows));
    }

    /** --warmup, --decay, --b-dec-init, --normalize, --auxk-coef, --adam-eps over the default recipe. */
    private Recipe recipe() {
        Recipe r = Recipe.DEFAULT;
        if (warmup != null) {
            r = r.withWarmup(Recipe.Warmup.parse(warmup));
        }
        if (decay != null) {
            r = r.withDecay(decay);
        }
        if (bDecInit != null) {
            r = r.withBDecInit(Recipe.BDecInit.parse(bDecInit));
        }
        if (normalize != null) {
            r = r.withNormalize(Recipe.Normalize.parse(normalize));
        }
        if (auxkCoef != null) {
            r = r.withAuxkCoef(auxkCoef);
        }
        if (adamEps != null) {
            r = r.withAdamEps(adamEps);
        }
        return r;
    }

    /** --max-memory in bytes, or the default budget (see MemoryPlan) when it is not given. */
    private long budget() {
        if (maxMemory == null) {
            return MemoryPlan.defaultBudget();
        }
        try {
            return MemoryPlan.parseBytes(maxMemory);
        } catch (UsageException e) {
            throw new UsageException("--max-memory: " + e.getMessage(), e);
        }
    }

    /** --resume: the run's own options from its config.json; this command line only picks the machine. */
    private int resumeRun() throws Exception {
        long budget = budget();
        deviceOptions.threads();
        for (var o : spec.commandLine().getParseResult().matchedOptions()) {
            if (!RESUME_OPTIONS.contains(o.longestName())) {
                throw new UsageException(o.longestName() + " cannot be combined with --resume: a resumed run "
                        + "keeps the options in " + resume.resolve("config.json") + "; leave it out");
            }
        }
        ObjectNode config = RunConfig.load(resume);
        // The recorded options are checked as a fresh run's are before anything is opened or written.
        TrainOptions opts = RunConfig.trainOptions(config, resume, budget, maxMemory != null);
        Path recorded = RunConfig.dataPath(config);
        // Opening validates every shard's header; the trainer then compares the files with the recorded ones.
        ShardSet shards = ShardSet.open(shardDir != null ? shardDir : recorded, RunConfig.dataColumn(config));
        int threads = RunConfig.threads(config);
        if (deviceOptions.threads == 0) {
            deviceOptions.threads = threads;
        } else if (deviceOptions.threads != threads) {
            LOG.warn("--threads {} differs from the {} the run started with: training continues, but the result will "
                    + "not be bit-identical to an uninterrupted run (parallel sums are split per thread)",
                    deviceOptions.threads, threads);
        }
        return train(opts, shards, resume);
    }

    private int train(TrainOptions opts, ShardSet shards, Path resumeDir) throws Exception {
        java.io.PrintWriter out = spec.commandLine().getOut();
        java.io.PrintWriter err = spec.commandLine().getErr();
        DeviceOptions.Chosen chosen = deviceOptions.open();
        try {
            Trainer trainer = new Trainer(chosen.device(), chosen.why(), opts, new VersionProvider().getVersion()[0]
                    .replace("sae-train ", ""));
            Trainer.Result r;
            String signal;
            try (StopSignals signals = new StopSignals(trainer)) {
                r = resumeDir == null ? trainer.run(shards) : trainer.resume(shards, resumeDir);
                signal = signals.received();
            }
            if (!r.diverged().isEmpty()) {
                err.println("warning: diverged and not exported: " + String.join(", ", r.diverged()) + "; lower --lr "
                        + "for them (see " + r.runDir().resolve("train.log") + ")");
            }
            switch (r.end()) {
                case STOPPED -> {
                    err.println("stopped by " + signal + " after " + r.tokens() + " tokens; checkpoint written; continue "
                            + "with: sae-train train --resume " + r.runDir());
                    return StopSignals.exitCode(signal);
                }
                case ALL_DIVERGED -> {
                    err.println("error: every SAE diverged; nothing exported; lower --lr (see " + r.runDir().resolve("train.log") + ")");
                    return Main.INTERNAL;
                }
                default -> out.println("trained " + r.tokens() + " tokens in " + String.format("%.1f", r.seconds())
                        + " s; dictionaries in " + r.runDir().resolve("saes"));
            }
        } finally {
            chosen.device().close();
        }
        return Main.OK;
    }

    /**
     * Every combination of --expansion with --k (topk, batchtopk, matryoshka), --l1 (relu, relu-2023, gated) or
     * --l0-coef (jumprelu), in order.
     */
    private List<SaeConfig> family(Architecture a, int dIn) {
        if (groups != null && a != Architecture.MATRYOSHKA) {
            throw new UsageException("--groups works with --arch matryoshka, not " + a.cliName()
                    + "; drop --groups or use --arch matryoshka");
        }
        List<SaeConfig> out = new java.util.ArrayList<>();
        for (int x : expansions) {
            if (x < 1) {
                throw new UsageException("--expansion values must be >= 1, got " + x);
            }
            List<Double> coefs = a == Architecture.JUMPRELU ? l0Coefs : l1s;
            for (int k : a.usesK() ? ks : List.of(0)) {
                for (double coef : a.usesK() ? List.of(0.0) : coefs) {
                    SaeConfig c = SaeConfig.of(a, dIn, x, k, coef);
                    out.add((a == Architecture.MATRYOSHKA ? c.withGroups(groups) : c).withTied(tied)
                            .withApplyBDecToInput(applyBDecToInput));
                }
            }
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        for (SaeConfig c : out) {
            if (!names.add(c.name())) {
                throw new UsageException("the family lists " + c.name() + " twice; remove the repeated value");
            }
        }
        return out;
    }

    private String defaultName(Architecture a) {
        Path f = shardDir.toAbsolutePath().normalize().getFileName();
        String data = f == null ? "data" : f.toString().replaceAll("[^A-Za-z0-9._-]", "_");
        return data + "-" + a.cliName() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    }
}
