package dev.saetrain.train;

import static dev.saetrain.error.Setting.RESUME;

import dev.saetrain.error.UsageException;
import dev.saetrain.io.JsonFiles;
import dev.saetrain.io.StrictJson;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.error.BadInputException;
import dev.saetrain.data.ShardSet;
import dev.saetrain.data.StreamOptions;
import dev.saetrain.io.AtomicFiles;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A run's {@code config.json}: what the run was (data, resolved options, schedules, device) for people, plus
 * an {@code options} object that {@code --resume} rebuilds the exact {@link TrainOptions} from, and the shard
 * files with their rows and sizes, which a resume compares against the data it is given.
 */
public final class RunConfig {
    static final String FILE = "config.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private RunConfig() {
    }

    /** The config.json of a fresh run. */
    static ObjectNode create(TrainOptions opts, ShardSet shards, float scale, long totalSteps, List<Schedule> schedules,
                             String device, String deviceChoice, String version) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("sae_train_version", version);
        root.put("run_name", opts.runName());
        root.put("device", device);
        root.put("device_choice", deviceChoice);
        root.put("seed", opts.seed());
        ObjectNode data = root.putObject("data");
        data.put("path", shards.source().toString());
        data.put("absolute_path", shards.source().toAbsolutePath().normalize().toString());
        data.put("shards", shards.shards().size());
        data.put("rows", shards.totalRows());
        data.put("d_in", shards.dIn());
        shards.arrowCache().ifPresent(c -> data.put("column", c.column()));
        data.put("scale", scale);
        data.put("scale_rule", opts.recipe().normalize() == Recipe.Normalize.SQRT_D
                ? "E|x| = sqrt(d_in) over the first " + Trainer.INIT_ROWS + " rows; folded into the exported weights"
                : "none (normalize: none): raw inputs, scale 1");
        data.put("skip_nonfinite", opts.skipNonFinite());
        data.put("shuffle_rows", opts.streamOptions(0, 1f).resolvedShuffleRows(shards.dIn(), shards.totalRows()));
        data.set("files", files(shards));
        ObjectNode tr = root.putObject("training");
        tr.put("batch", opts.batch());
        tr.put("epochs", opts.epochs());
        tr.put("tokens", opts.tokens());
        tr.put("steps", totalSteps);
        tr.put("dead_tokens", opts.deadTokens());
        tr.put("log_every", opts.logEvery());
        tr.put("checkpoint_every_tokens", opts.checkpointEvery());
        tr.put("checkpoint_every_steps", opts.checkpointSteps());
        tr.put("clip_norm", Engine.CLIP_NORM);
        tr.put("adam_betas", "0.9,0.999");
        Recipe r = opts.recipe();
        tr.put("adam_eps", r.adamEps());
        tr.put("auxk_coef", r.auxkCoef());
        tr.put("lr_warmup", r.warmup().text());
        tr.put("lr_decay_fraction", r.decay());
        tr.put("b_dec_init", r.bDecInit().cliName());
        tr.put("normalize", r.normalize().cliName());
        ArrayNode arr = root.putArray("saes");
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
            if (c.arch() == Architecture.JUMPRELU) {
                o.put("threshold_lr_factor", s.thresholdLrFactor());
            }
            o.put("apply_b_dec_to_input", c.applyBDecToInput());
            o.put("b_dec_init", r.bDecInit().resolve(c.arch()).cliName());
            o.put("tied", c.tied());
            if (!c.groups().isEmpty()) { // matryoshka's nesting (SaeConfig: no other architecture has groups)
                c.groups().forEach(o.putArray("groups")::add);
            }
            if (c.arch().resamplesDeadLatents()) {
                Resampler.Plan rp = Resampler.Plan.forRun(totalSteps, opts.resampleEvery(), opts.seed(), s.resampleUntil());
                o.put("resample_every", rp == null ? 0 : rp.every());
                o.put("resample_window", rp == null ? 0 : rp.window());
                o.put("resample_until", rp == null ? 0 : rp.until());
            }
        }
        root.set("options", options(opts));
        return root;
    }

    /** The resolved options, exactly as {@link #trainOptions} reads them back. */
    private static ObjectNode options(TrainOptions o) {
        ObjectNode n = JSON.createObjectNode();
        n.put("batch", o.batch());
        if (Double.isNaN(o.lr())) {
            n.putNull("lr");
        } else {
            n.put("lr", o.lr());
        }
        n.put("epochs", o.epochs());
        n.put("tokens", o.tokens());
        n.put("seed", o.seed());
        n.put("dead_tokens", o.deadTokens());
        n.put("log_every", o.logEvery());
        n.put("skip_nonfinite", o.skipNonFinite());
        n.put("hook_name", o.hookName());
        n.put("model_name", o.modelName());
        n.set("context_size", o.contextSize() == null ? null : JSON.getNodeFactory().numberNode(o.contextSize()));
        n.set("prepend_bos", o.prependBos() == null ? null : JSON.getNodeFactory().booleanNode(o.prependBos()));
        n.put("checkpoint_every", o.checkpointEvery());
        n.put("threads", o.threads());
        n.put("resample_every", o.resampleEvery());
        n.put("shuffle_rows", StreamOptions.shuffleRowsText(o.shuffleRows()));
        n.put("warmup", o.recipe().warmup().text());
        n.put("decay", o.recipe().decay());
        n.put("b_dec_init", o.recipe().bDecInit().cliName());
        n.put("normalize", o.recipe().normalize().cliName());
        n.put("auxk_coef", o.recipe().auxkCoef());
        n.put("adam_eps", o.recipe().adamEps());
        ArrayNode saes = n.putArray("saes");
        for (SaeConfig c : o.saes()) {
            ObjectNode sae = saes.addObject().put("architecture", c.arch().cliName()).put("d_in", c.dIn())
                    .put("n_latents", c.nLatents()).put("k", c.k()).put("l1", c.l1())
                    .put("apply_b_dec_to_input", c.applyBDecToInput()).put("tied", c.tied());
            if (!c.groups().isEmpty()) {
                c.groups().forEach(sae.putArray("groups")::add);
            }
        }
        return n;
    }

    private static ArrayNode files(ShardSet shards) throws IOException {
        ArrayNode a = JSON.createArrayNode();
        for (var s : shards.shards()) {
            a.addObject().put("name", s.path().getFileName().toString()).put("rows", s.rows()).put("bytes", s.fileBytes());
        }
        return a;
    }

    /** Reads {@code runDir/config.json}; refuses a folder that is not a run. */
    public static ObjectNode load(Path runDir) throws IOException {
        Path file = runDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw UsageException.of(file + " does not exist; ", RESUME, " takes a run directory such as runs/NAME");
        }
        JsonNode n = JsonFiles.read(file);
        if (!(n instanceof ObjectNode o) || !o.has("options") || !o.has("data")) {
            throw new UsageException(file + " has no 'options' or 'data'; the run was made by an sae-train "
                    + "without resume support, or the file was edited; start a new run");
        }
        return o;
    }

    static void save(Path runDir, ObjectNode root) throws IOException {
        AtomicFiles.writeString(runDir.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }

    /** The hook column of the SAELens cache the run was trained on, or null for .npy / .safetensors shards. */
    public static String dataColumn(ObjectNode config) {
        JsonNode c = config.at("/data/column");
        return c.isTextual() ? c.asText() : null;
    }

    /** The shard directory the run was trained on (absolute). */
    public static Path dataPath(ObjectNode config) {
        return Path.of(config.at("/data/absolute_path").asText());
    }

    /** The threads the run was trained with. */
    public static int threads(ObjectNode config) {
        return config.at("/options/threads").asInt();
    }

    /** Whether the run already finished (its dictionaries are exported). */
    public static boolean finished(ObjectNode config) {
        return "finished".equals(config.at("/result/status").asText());
    }

    /** The run's options, with the output location and the memory limit of the resuming process. */
    public static TrainOptions trainOptions(ObjectNode config, Path runDir, long maxMemory, boolean maxMemoryGiven) {
        // Read strictly: a wrong-typed or missing option would otherwise resume as 0 or false and train something else.
        StrictJson j = new StrictJson(runDir.resolve(FILE));
        JsonNode o = j.object(config, "", "options");
        List<SaeConfig> saes = new ArrayList<>();
        JsonNode list = j.array(o, "options", "saes");
        for (int i = 0; i < list.size(); i++) {
            JsonNode s = list.get(i);
            String at = "options.saes[" + i + "]";
            // "groups" (matryoshka) is absent from the config.json of runs made before it existed: empty.
            List<Integer> groups = new ArrayList<>();
            if (s.hasNonNull("groups")) {
                JsonNode g = j.array(s, at, "groups");
                for (int k = 0; k < g.size(); k++) {
                    groups.add((int) j.integerValue(g.get(k), at, "groups[" + k + "]", 1, Integer.MAX_VALUE));
                }
            }
            saes.add(new SaeConfig(Architecture.parse(j.text(s, at, "architecture")),
                    j.intValue(s, at, "d_in", 1, Integer.MAX_VALUE), j.intValue(s, at, "n_latents", 1, Integer.MAX_VALUE),
                    j.intValue(s, at, "k", 0, Integer.MAX_VALUE), j.number(s, at, "l1", 0, Double.MAX_VALUE),
                    j.bool(s, at, "apply_b_dec_to_input"), j.bool(s, at, "tied"), groups));
        }
        String at = "options";
        double lr = o.hasNonNull("lr") ? j.number(o, at, "lr", Double.MIN_VALUE, Double.MAX_VALUE) : Double.NaN;
        Path abs = runDir.toAbsolutePath().normalize();
        return new TrainOptions(saes, j.intValue(o, at, "batch", 1, Integer.MAX_VALUE), lr,
                j.intValue(o, at, "epochs", 0, Integer.MAX_VALUE), j.integer(o, at, "tokens", 0, Long.MAX_VALUE),
                j.integer(o, at, "seed", Long.MIN_VALUE, Long.MAX_VALUE),
                j.integer(o, at, "dead_tokens", 0, Long.MAX_VALUE), j.intValue(o, at, "log_every", 1, Integer.MAX_VALUE),
                j.bool(o, at, "skip_nonfinite"), abs.getParent(), abs.getFileName().toString(),
                j.text(o, at, "hook_name"), j.text(o, at, "model_name"),
                o.hasNonNull("context_size") ? j.intValue(o, at, "context_size", 1, Integer.MAX_VALUE) : null,
                o.hasNonNull("prepend_bos") ? j.bool(o, at, "prepend_bos") : null, maxMemory, maxMemoryGiven,
                j.integer(o, at, "checkpoint_every", 0, Long.MAX_VALUE), j.intValue(o, at, "threads", 0, Integer.MAX_VALUE),
                j.intValue(o, at, "resample_every", -1, Integer.MAX_VALUE), recipe(j, o), shuffleRows(j, o));
    }

    /**
     * options' shuffle_rows ("auto", "all" or rows), absent from the config.json of runs made before it was an
     * option, which all ran with the automatic buffer.
     */
    private static int shuffleRows(StrictJson j, JsonNode o) {
        if (!o.has("shuffle_rows")) {
            return StreamOptions.AUTO_ROWS;
        }
        String text = j.text(o, "options", "shuffle_rows");
        try {
            return StreamOptions.parseShuffleRows(text);
        } catch (UsageException e) {
            throw new BadInputException(j.file(), "'options.shuffle_rows': " + e.getMessage()
                    + "; the file is damaged or was edited", e);
        }
    }

    /**
     * options' recipe keys; each is absent from the config.json of runs made before it was an option, and such a run
     * resumes with {@link Recipe#ORIGINAL}'s value, the one it was trained with.
     */
    private static Recipe recipe(StrictJson j, JsonNode o) {
        String at = "options";
        Recipe r = Recipe.ORIGINAL;
        if (o.has("warmup")) {
            r = recorded(j, "warmup", r, x -> x.withWarmup(Recipe.Warmup.parse(j.text(o, at, "warmup"))));
        }
        if (o.has("decay")) {
            r = recorded(j, "decay", r, x -> x.withDecay(j.number(o, at, "decay", 0, 1)));
        }
        if (o.has("b_dec_init")) {
            r = recorded(j, "b_dec_init", r, x -> x.withBDecInit(Recipe.BDecInit.parse(j.text(o, at, "b_dec_init"))));
        }
        if (o.has("normalize")) {
            r = recorded(j, "normalize", r, x -> x.withNormalize(Recipe.Normalize.parse(j.text(o, at, "normalize"))));
        }
        if (o.has("auxk_coef")) {
            r = recorded(j, "auxk_coef", r, x -> x.withAuxkCoef(j.number(o, at, "auxk_coef", 0, Double.MAX_VALUE)));
        }
        if (o.has("adam_eps")) {
            r = recorded(j, "adam_eps", r, x -> x.withAdamEps(j.number(o, at, "adam_eps", Double.MIN_VALUE,
                    Double.MAX_VALUE)));
        }
        return r;
    }

    /** {@code change} applied to {@code r}; a value the recipe refuses is named by its config.json key. */
    private static Recipe recorded(StrictJson j, String key, Recipe r, UnaryOperator<Recipe> change) {
        try {
            return change.apply(r);
        } catch (UsageException e) {
            throw new BadInputException(j.file(), "'options." + key + "': " + e.getMessage()
                    + "; the file is damaged or was edited", e);
        }
    }

    /**
     * Refuses data other than the run's: the shard files' names, rows and sizes must equal what config.json
     * recorded (contents are not hashed: reading terabytes to start a resume costs too much; the resume also
     * recomputes the input scale from the first rows and compares it bit for bit).
     */
    static void checkSameData(ObjectNode config, ShardSet shards, Path runDir) throws IOException {
        JsonNode recorded = config.at("/data/files");
        ArrayNode now = files(shards);
        // Compared as text: numbers read back from the file and numbers built here are different node types.
        if (!recorded.toString().equals(now.toString())) {
            throw new UsageException("the data in " + shards.source() + " differs from what "
                    + runDir.resolve(FILE) + " recorded (shard names, rows or sizes: " + describe(recorded) + " then, "
                    + describe(now) + " now); resume with the run's original shards, or start a new run");
        }
    }

    private static String describe(JsonNode files) {
        long rows = 0;
        for (JsonNode f : files) {
            rows += f.path("rows").asLong();
        }
        return files.size() + " file(s), " + rows + " rows";
    }
}
