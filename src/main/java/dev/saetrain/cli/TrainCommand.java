package dev.saetrain.cli;

import dev.saetrain.data.ShardSet;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.train.MemoryPlan;
import dev.saetrain.train.Trainer;
import dev.saetrain.train.TrainOptions;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code sae-train train SHARD_DIR}: trains an SAE and writes runs/NAME/. */
@Command(name = "train", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Trains an SAE on the activations in SHARD_DIR (.npy / .safetensors shards) and writes "
                + "OUT/NAME/: config.json, metrics.jsonl, train.log and saes/<sae>/ in SAELens format.")
final class TrainCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SHARD_DIR", description = "Directory of shards (or one shard file).")
    Path shardDir;

    @Option(names = "--arch", defaultValue = "topk", description = "topk | relu | batchtopk | jumprelu. Default: ${DEFAULT-VALUE}.")
    String arch;

    @Option(names = "--k", defaultValue = "32", split = ",", paramLabel = "K[,K...]",
            description = "Active latents per row (topk; the mean per row for batchtopk, which keeps k * batch per batch); a list trains one SAE per value. Default: ${DEFAULT-VALUE}.")
    List<Integer> ks;

    @Option(names = "--expansion", defaultValue = "16", split = ",", paramLabel = "X[,X...]",
            description = "Latents per input dimension; a list (1,2,4,...,256) trains the whole family in one pass. "
                    + "Default: ${DEFAULT-VALUE}.")
    List<Integer> expansions;

    @Option(names = "--l1", defaultValue = "5.0", split = ",", paramLabel = "L[,L...]",
            description = "Sparsity coefficient lambda (relu; reached after a 5%% warm-up); a list trains one SAE per "
                    + "value. Default: ${DEFAULT-VALUE}.")
    List<Double> l1s;

    @Option(names = "--l0-coef", defaultValue = "1.0", split = ",", paramLabel = "L[,L...]",
            description = "L0 coefficient lambda (jumprelu; loss = mse + lambda * L0, reached after a 5%% warm-up); "
                    + "a list trains one SAE per value. Default: ${DEFAULT-VALUE}.")
    List<Double> l0Coefs;

    @Option(names = "--max-memory", paramLabel = "SIZE",
            description = "Memory the family may use (e.g. 12g); checked before the first step. Default: what the JVM "
                    + "can hold (-XX:MaxDirectMemorySize, else -Xmx), capped by physical memory.")
    String maxMemory;

    @Option(names = "--batch", defaultValue = "4096", description = "Rows per step. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--lr", description = "Peak learning rate. Default: topk and batchtopk 2e-4 / sqrt(n_latents / 2^14), "
            + "relu 5e-5, jumprelu 7e-5.")
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

    @Override
    public Integer call() throws Exception {
        Architecture a = Architecture.parse(arch);
        // Opening validates every shard's header before anything is written.
        ShardSet shards = ShardSet.open(shardDir);
        List<SaeConfig> family = family(a, shards.dIn());
        String runName = name != null ? name : defaultName(a);
        int epochs = length != null && length.epochs != null ? length.epochs : 1;
        long tokens = length != null && length.tokens != null ? length.tokens : 0;
        if (length != null && length.tokens != null && tokens < 1) {
            throw new IllegalArgumentException("--tokens must be >= 1, got " + tokens);
        }
        long budget = maxMemory == null ? MemoryPlan.defaultBudget() : MemoryPlan.parseBytes(maxMemory);
        String budgetSource = maxMemory == null ? "the JVM's memory limit" : "--max-memory";
        TrainOptions opts = new TrainOptions(family, batch, lr == null ? Double.NaN : lr, epochs, tokens, seed,
                deadTokens, logEvery, skipNonFinite, out, runName, hookName, modelName, contextSize, prependBos,
                budget, budgetSource);
        java.io.PrintWriter out = spec.commandLine().getOut();
        DeviceOptions.Chosen chosen = deviceOptions.open();
        try {
            Trainer.Result r = new Trainer(chosen.device(), chosen.why(), opts, new VersionProvider().getVersion()[0]
                    .replace("sae-train ", "")).run(shards);
            out.println("trained " + r.tokens() + " tokens in " + String.format("%.1f", r.seconds()) + " s; "
                    + "dictionaries in " + r.runDir().resolve("saes"));
        } finally {
            chosen.device().close();
        }
        return Main.OK;
    }

    /** Every combination of --expansion with --k (topk, batchtopk), --l1 (relu) or --l0-coef (jumprelu), in order. */
    private List<SaeConfig> family(Architecture a, int dIn) {
        List<SaeConfig> out = new java.util.ArrayList<>();
        for (int x : expansions) {
            if (x < 1) {
                throw new IllegalArgumentException("--expansion values must be >= 1, got " + x);
            }
            switch (a) {
                case TOPK -> ks.forEach(k -> out.add(SaeConfig.topk(dIn, x, k)));
                case RELU -> l1s.forEach(l1 -> out.add(SaeConfig.relu(dIn, x, l1)));
                case BATCHTOPK -> ks.forEach(k -> out.add(SaeConfig.batchTopk(dIn, x, k)));
                case JUMPRELU -> l0Coefs.forEach(l0 -> out.add(SaeConfig.jumpRelu(dIn, x, l0)));
            }
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        for (SaeConfig c : out) {
            if (!names.add(c.name())) {
                throw new IllegalArgumentException("the family lists " + c.name() + " twice; remove the repeated value");
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
