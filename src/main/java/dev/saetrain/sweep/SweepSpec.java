package dev.saetrain.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.Setting;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.JsonFiles;
import dev.saetrain.model.Architecture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A sweep grid as written in SWEEP.json, validated once here: every problem is a {@link BadInputException} naming
 * the file and the key. Relative paths are resolved against the current directory and kept absolute, so the
 * manifest's lines run the same from any working directory a cluster node gives them.
 *
 * <pre>
 * {
 *   "name": "demo",                      run names start with it; letters, digits, '.', '_', '-'
 *   "shard_dir": "datasets/demo",        the shards every task trains on (must exist)
 *   "out": "runs/sweep-demo",            optional; default runs/NAME; gets manifest.tsv, logs/ and one run per task
 *   "architectures": ["topk", "relu"],   train's architectures
 *   "expansion": [4, 8],                 expansions
 *   "k": [8, 16],                        topk, batchtopk, matryoshka (required by them, refused without them)
 *   "l1": [1.0, 5.0],                    relu, relu-2023, gated (likewise)
 *   "l0_coef": [1.0],                    jumprelu (likewise)
 *   "seeds": [0, 1],                     optional; default [0]
 *   "saes_per_job": 2,                   optional; default 1: how many SAEs one array task trains as a family
 *   "train": {"batch": 1024, ...}        optional; other train options, see {@link #TRAIN_KEYS}
 * }
 * </pre>
 *
 * @param train the "train" object: each setting given and its value, in a fixed order ({@link #TRAIN_KEYS})
 */
public record SweepSpec(Path file, String name, Path shardDir, Path out, List<Architecture> architectures,
                        List<Integer> expansions, List<Integer> ks, List<Double> l1s, List<Double> l0Coefs,
                        List<Long> seeds, int saesPerJob, List<TrainValue> train) {
    private static final Set<String> TOP_KEYS = Set.of("name", "shard_dir", "out", "architectures", "expansion", "k",
            "l1", "l0_coef", "seeds", "saes_per_job", "train");

    /** How a "train" value is checked and written. */
    private enum Kind { POSITIVE_INT, POSITIVE_LONG, NONNEGATIVE_LONG, NONNEGATIVE_INT, POSITIVE_NUMBER, TEXT, SWITCH,
        BOOLEAN, DEVICE, NUMBER_OR_TEXT }

    /**
     * One setting of the "train" object.
     *
     * @param setting the train setting (its {@link Setting#key()} is the key in the file)
     * @param value   its value as train takes it, or null for a switch that is on
     */
    public record TrainValue(Setting setting, String value) {
    }

    /** The train settings a sweep may set for all its tasks, by key, with how each is checked. */
    static final Map<String, Kind> TRAIN_KEYS = new LinkedHashMap<>();
    private static final Map<String, Setting> TRAIN_SETTINGS = new LinkedHashMap<>();

    private static void trainKey(Setting s, Kind kind) {
        TRAIN_KEYS.put(s.key(), kind);
        TRAIN_SETTINGS.put(s.key(), s);
    }

    static {
        trainKey(Setting.BATCH, Kind.POSITIVE_INT);
        trainKey(Setting.LR, Kind.POSITIVE_NUMBER);
        trainKey(Setting.EPOCHS, Kind.POSITIVE_INT);
        trainKey(Setting.TOKENS, Kind.POSITIVE_LONG);
        trainKey(Setting.CHECKPOINT_EVERY, Kind.NONNEGATIVE_LONG);
        trainKey(Setting.LOG_EVERY, Kind.POSITIVE_INT);
        trainKey(Setting.DEAD_TOKENS, Kind.POSITIVE_LONG);
        trainKey(Setting.RESAMPLE_EVERY, Kind.NONNEGATIVE_INT);
        trainKey(Setting.TIED, Kind.SWITCH);
        trainKey(Setting.SKIP_NONFINITE, Kind.SWITCH);
        trainKey(Setting.DEVICE, Kind.DEVICE);
        trainKey(Setting.THREADS, Kind.POSITIVE_INT);
        trainKey(Setting.MAX_MEMORY, Kind.TEXT);
        trainKey(Setting.HOOK_NAME, Kind.TEXT);
        trainKey(Setting.MODEL_NAME, Kind.TEXT);
        trainKey(Setting.CONTEXT_SIZE, Kind.POSITIVE_INT);
        trainKey(Setting.PREPEND_BOS, Kind.BOOLEAN);
        trainKey(Setting.SHUFFLE_ROWS, Kind.NUMBER_OR_TEXT);
        // The recipe's ablation knobs: passed on as text, checked by train's own parsing at plan time.
        trainKey(Setting.WARMUP, Kind.NUMBER_OR_TEXT);
        trainKey(Setting.LR_DECAY, Kind.NUMBER_OR_TEXT);
        trainKey(Setting.B_DEC_INIT, Kind.TEXT);
        trainKey(Setting.NORMALIZE, Kind.TEXT);
        trainKey(Setting.AUXK_COEF, Kind.NUMBER_OR_TEXT);
        trainKey(Setting.ADAM_EPS, Kind.NUMBER_OR_TEXT);
    }

    /** Keys of the grid itself and of "train" that sweep plan sets per task; never user-set in "train". */
    private static final Set<String> PER_TASK = Set.of("arch", "expansion", "k", "l1", "l0_coef", "seed", "out", "name",
            "resume", "groups");

    /** Reads and validates {@code file}. */
    public static SweepSpec load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file, "no such file; sweep plan takes a sweep description such as "
                    + "scripts/slurm/example-sweep.json");
        }
        JsonNode root = JsonFiles.read(file);
        if (!(root instanceof ObjectNode o)) {
            throw new BadInputException(file, "must hold one JSON object, see scripts/slurm/example-sweep.json");
        }
        return parse(file, o);
    }

    static SweepSpec parse(Path file, ObjectNode o) {
        for (var it = o.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!TOP_KEYS.contains(k)) {
                throw bad(file, k, "unknown key; expected one of " + new java.util.TreeSet<>(TOP_KEYS));
            }
        }
        String name = text(file, o, "name");
        if (!name.matches("[A-Za-z0-9._-]+")) {
            throw bad(file, "name", "'" + name + "' must use only letters, digits, '.', '_' and '-'");
        }
        Path shardDir = Path.of(text(file, o, "shard_dir")).toAbsolutePath().normalize();
        if (!Files.exists(shardDir)) {
            throw bad(file, "shard_dir", shardDir + " does not exist; write the shards first (e.g. sae-train synth "
                    + shardDir + ")");
        }
        Path out = (o.has("out") ? Path.of(text(file, o, "out")) : Path.of("runs", name)).toAbsolutePath().normalize();
        List<Architecture> archs = new ArrayList<>();
        for (JsonNode a : list(file, o, "architectures")) {
            if (!a.isTextual()) {
                throw bad(file, "architectures", "values must be strings such as \"topk\", got " + a);
            }
            try {
                Architecture parsed = Architecture.parse(a.asText());
                if (archs.contains(parsed)) {
                    throw bad(file, "architectures", "lists " + a.asText() + " twice");
                }
                archs.add(parsed);
            } catch (UsageException e) {
                throw bad(file, "architectures", e.getMessage());
            }
        }
        List<Integer> expansions = ints(file, o, "expansion");
        boolean wantK = archs.stream().anyMatch(Architecture::usesK);
        boolean wantL1 = archs.stream().anyMatch(a -> !a.usesK() && a != Architecture.JUMPRELU);
        boolean wantL0 = archs.contains(Architecture.JUMPRELU);
        List<Integer> ks = coefficientList(file, o, "k", wantK, archs, "topk, batchtopk or matryoshka",
                () -> ints(file, o, "k"));
        List<Double> l1s = coefficientList(file, o, "l1", wantL1, archs, "relu, relu-2023 or gated",
                () -> numbers(file, o, "l1"));
        List<Double> l0s = coefficientList(file, o, "l0_coef", wantL0, archs, "jumprelu", () -> numbers(file, o, "l0_coef"));
        List<Long> seeds = new ArrayList<>();
        if (o.has("seeds")) {
            for (JsonNode s : list(file, o, "seeds")) {
                if (!s.canConvertToLong() || !s.isIntegralNumber()) {
                    throw bad(file, "seeds", "values must be integers, got " + s);
                }
                seeds.add(s.asLong());
            }
            if (new HashSet<>(seeds).size() != seeds.size()) {
                throw bad(file, "seeds", "lists a seed twice");
            }
        } else {
            seeds.add(0L);
        }
        int perJob = 1;
        if (o.has("saes_per_job")) {
            JsonNode n = o.get("saes_per_job");
            if (!n.isInt() || n.asInt() < 1) {
                throw bad(file, "saes_per_job", "must be an integer >= 1, got " + n);
            }
            perJob = n.asInt();
        }
        List<TrainValue> train = train(file, o.get("train"));
        return new SweepSpec(file, name, shardDir, out, List.copyOf(archs), expansions, ks, l1s, l0s, List.copyOf(seeds),
                perJob, List.copyOf(train));
    }

    /** The "train" value of {@code setting}: its text, "true" for a switch that is on, or null when absent. */
    public String trainValue(Setting setting) {
        for (TrainValue v : train) {
            if (v.setting() == setting) {
                return v.value() == null ? "true" : v.value();
            }
        }
        return null;
    }

    private static List<TrainValue> train(Path file, JsonNode train) {
        List<TrainValue> args = new ArrayList<>();
        if (train == null) {
            return args;
        }
        if (!train.isObject()) {
            throw bad(file, "train", "must be an object of train options, e.g. {\"batch\": 1024}");
        }
        for (var it = train.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (PER_TASK.contains(k)) {
                throw bad(file, "train." + k, "is set per task by the grid; use the top-level keys (architectures, "
                        + "expansion, k, l1, l0_coef, seeds, out, name)");
            }
            if (!TRAIN_KEYS.containsKey(k)) {
                throw bad(file, "train." + k, "unknown train option; expected one of " + TRAIN_KEYS.keySet());
            }
        }
        if (train.has("epochs") && train.has("tokens")) {
            throw bad(file, "train.tokens", "cannot be combined with train.epochs; give one of them");
        }
        for (var e : TRAIN_KEYS.entrySet()) {
            JsonNode v = train.get(e.getKey());
            if (v == null) {
                continue;
            }
            String key = "train." + e.getKey();
            Setting setting = TRAIN_SETTINGS.get(e.getKey());
            String value = switch (e.getValue()) {
                case POSITIVE_INT, NONNEGATIVE_INT -> {
                    int min = e.getValue() == Kind.POSITIVE_INT ? 1 : 0;
                    if (!v.isInt() || v.asInt() < min) {
                        throw bad(file, key, "must be an integer >= " + min + ", got " + v);
                    }
                    yield Integer.toString(v.asInt());
                }
                case POSITIVE_LONG, NONNEGATIVE_LONG -> {
                    long min = e.getValue() == Kind.POSITIVE_LONG ? 1 : 0;
                    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min) {
                        throw bad(file, key, "must be an integer >= " + min + ", got " + v);
                    }
                    yield Long.toString(v.asLong());
                }
                case POSITIVE_NUMBER -> {
                    if (!v.isNumber() || !(v.asDouble() > 0) || !Double.isFinite(v.asDouble())) {
                        throw bad(file, key, "must be a number > 0, got " + v);
                    }
                    yield Double.toString(v.asDouble());
                }
                case TEXT -> {
                    if (!v.isTextual() || v.asText().isBlank()) {
                        throw bad(file, key, "must be a non-empty string, got " + v);
                    }
                    yield v.asText();
                }
                case SWITCH, BOOLEAN -> {
                    if (!v.isBoolean()) {
                        throw bad(file, key, "must be true or false, got " + v);
                    }
                    yield e.getValue() == Kind.SWITCH ? null : Boolean.toString(v.asBoolean());
                }
                case NUMBER_OR_TEXT -> {
                    if (!(v.isNumber() || v.isTextual()) || v.asText().isBlank()) {
                        throw bad(file, key, "must be a number or a string, got " + v);
                    }
                    yield v.asText();
                }
                case DEVICE -> {
                    if (!v.isTextual() || !List.of("auto", "cpu", "cuda").contains(v.asText())) {
                        throw bad(file, key, "must be \"auto\", \"cpu\" or \"cuda\", got " + v);
                    }
                    yield v.asText();
                }
            };
            if (e.getValue() != Kind.SWITCH || v.asBoolean()) {
                args.add(new TrainValue(setting, value));
            }
        }
        return args;
    }

    private static <T> List<T> coefficientList(Path file, ObjectNode o, String key, boolean wanted,
                                               List<Architecture> archs, String users,
                                               java.util.function.Supplier<List<T>> read) {
        if (!wanted) {
            if (o.has(key)) {
                throw bad(file, key, "is given but none of the architectures " + archs + " uses it (only " + users
                        + " do); remove it");
            }
            return List.of();
        }
        if (!o.has(key)) {
            throw bad(file, key, "is missing; " + users + " in \"architectures\" need a list of values");
        }
        return read.get();
    }

    private static String text(Path file, ObjectNode o, String key) {
        JsonNode n = o.get(key);
        if (n == null) {
            throw bad(file, key, "is missing");
        }
        if (!n.isTextual() || n.asText().isBlank()) {
            throw bad(file, key, "must be a non-empty string, got " + n);
        }
        if (n.asText().indexOf('\t') >= 0 || n.asText().indexOf('\n') >= 0) {
            throw bad(file, key, "must not contain tabs or newlines (the manifest is tab-separated)");
        }
        return n.asText();
    }

    private static JsonNode list(Path file, ObjectNode o, String key) {
        JsonNode n = o.get(key);
        if (n == null) {
            throw bad(file, key, "is missing");
        }
        if (!n.isArray()) {
            throw bad(file, key, "must be a list, e.g. [1, 2], got " + n);
        }
        if (n.isEmpty()) {
            throw bad(file, key, "is an empty list; give at least one value");
        }
        return n;
    }

    private static List<Integer> ints(Path file, ObjectNode o, String key) {
        List<Integer> out = new ArrayList<>();
        for (JsonNode v : list(file, o, key)) {
            if (!v.isInt() || v.asInt() < 1) {
                throw bad(file, key, "values must be integers >= 1, got " + v);
            }
            if (out.contains(v.asInt())) {
                throw bad(file, key, "lists " + v.asInt() + " twice");
            }
            out.add(v.asInt());
        }
        return List.copyOf(out);
    }

    private static List<Double> numbers(Path file, ObjectNode o, String key) {
        List<Double> out = new ArrayList<>();
        for (JsonNode v : list(file, o, key)) {
            if (!v.isNumber() || !(v.asDouble() >= 0) || !Double.isFinite(v.asDouble())) {
                throw bad(file, key, "values must be numbers >= 0, got " + v);
            }
            if (out.contains(v.asDouble())) {
                throw bad(file, key, "lists " + v.asDouble() + " twice");
            }
            out.add(v.asDouble());
        }
        return List.copyOf(out);
    }

    static BadInputException bad(Path file, String key, String problem) {
        return new BadInputException(file, "key '" + key + "': " + problem);
    }
}
