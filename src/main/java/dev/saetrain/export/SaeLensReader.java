package dev.saetrain.export;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.DType;
import dev.saetrain.io.HostMatrix;
import dev.saetrain.io.SafetensorsReader;
import dev.saetrain.io.StrictJson;
import dev.saetrain.io.Tensor;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Reads a SAELens dictionary folder ({@code cfg.json} + {@code sae_weights.safetensors}, optionally
 * {@code sparsity.safetensors}) back into {@link SaeWeights}: ours, as {@link SaeLensWriter} writes them, and SAELens's
 * own "standard", "topk", "jumprelu" and "gated" folders. The weights are those of the file (scale already folded, so
 * they act on raw activations). Anything missing or of the wrong shape is a {@link BadInputException} naming the file.
 */
public final class SaeLensReader {
    // A key given twice is damage, not a last-one-wins.
    private static final ObjectMapper JSON = new ObjectMapper().enable(
            com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /**
     * One dictionary folder.
     *
     * @param dir         the folder
     * @param weights     the parameters (SAELens orientation, fp32)
     * @param cfg         the parsed cfg.json
     * @param logSparsity log10(firing frequency + 1e-10) per latent from sparsity.safetensors, or null when absent
     */
    public record Loaded(Path dir, SaeWeights weights, JsonNode cfg, float[] logSparsity) {
        /** The folder's name (e.g. x16-k32). */
        public String name() {
            return dir.getFileName().toString();
        }
    }

    private SaeLensReader() {
    }

    /** Whether {@code dir} looks like a dictionary folder (has cfg.json and sae_weights.safetensors). */
    public static boolean isSaeDir(Path dir) {
        return Files.isRegularFile(dir.resolve(SaeLensWriter.CFG_FILE))
                && Files.isRegularFile(dir.resolve(SaeLensWriter.WEIGHTS_FILE));
    }

    /**
     * The dictionary folders under {@code path}: the folder itself when it is one, else those in {@code path/saes}
     * (a run) or in {@code path}, smallest d_sae first. Hidden folders are left out, each named through {@code warn}:
     * they are an export's staging copy ({@code .NAME.tmp-*}, half written if its writer died) or a superseded copy
     * ({@code .NAME.old-*}), never a dictionary of their own.
     */
    public static List<Path> findSaeDirs(Path path, Consumer<String> warn) throws IOException {
        if (isSaeDir(path)) {
            return List.of(path); // the folder itself, named by the user, hidden or not
        }
        Path base = Files.isDirectory(path.resolve("saes")) ? path.resolve("saes") : path;
        if (!Files.isDirectory(base)) {
            throw new BadInputException(path, "not a directory; give a dictionary folder (cfg.json + "
                    + SaeLensWriter.WEIGHTS_FILE + "), a run directory or a directory of dictionary folders");
        }
        List<Path> dirs = new ArrayList<>();
        boolean hiddenOnly = false;
        try (var s = Files.list(base)) {
            for (Path d : s.filter(SaeLensReader::isSaeDir).sorted().toList()) {
                if (d.getFileName().toString().startsWith(".")) {
                    warn.accept("warning: skipped " + d + ": a hidden folder (an unfinished or superseded export's "
                            + "staging copy), not a dictionary; delete it once no export is running");
                    hiddenOnly = true;
                } else {
                    dirs.add(d);
                }
            }
        }
        if (dirs.isEmpty()) {
            throw new BadInputException(path, hiddenOnly ? "holds no dictionary folder besides hidden staging folders; "
                    + "give a run or a directory with finished dictionaries" : "no dictionary folder found (looked for "
                    + "cfg.json + " + SaeLensWriter.WEIGHTS_FILE + " in " + base + " and its sub-folders)");
        }
        Map<Path, Integer> sizes = new LinkedHashMap<>();
        for (Path d : dirs) {
            Path cfg = d.resolve(SaeLensWriter.CFG_FILE);
            sizes.put(d, new StrictJson(cfg).intValue(readCfg(cfg), "", "d_sae", 1, Integer.MAX_VALUE));
        }
        dirs.sort((a, b) -> sizes.get(a).equals(sizes.get(b)) ? a.getFileName().toString()
                .compareTo(b.getFileName().toString()) : Integer.compare(sizes.get(a), sizes.get(b)));
        return dirs;
    }

    /** Reads the dictionary folder {@code dir}. */
    public static Loaded read(Path dir) throws IOException {
        Path cfgFile = dir.resolve(SaeLensWriter.CFG_FILE);
        Path weightsFile = dir.resolve(SaeLensWriter.WEIGHTS_FILE);
        JsonNode cfg = readCfg(cfgFile);
        StrictJson j = new StrictJson(cfgFile);
        int d = j.intValue(cfg, "", "d_in", 1, Integer.MAX_VALUE);
        int m = j.intValue(cfg, "", "d_sae", 1, Integer.MAX_VALUE);
        // A value of the wrong type or out of range is an error naming the key, never clamped or replaced by a
        // default; a key left out gets SAELens's own default where SAELens has one (apply_b_dec_to_input: true).
        JsonNode meta = optionalObject(j, cfg, "", "metadata");
        JsonNode ours = meta == null ? null : optionalObject(j, meta, "metadata", "sae_train");
        String oursAt = "metadata.sae_train";
        Architecture arch = architecture(j, cfg, ours);
        int k = 0;
        if (arch.usesK()) {
            k = cfg.has("k") ? j.intValue(cfg, "", "k", 1, m)
                    : ours != null && ours.has("k") ? j.intValue(ours, oursAt, "k", 1, m)
                    : j.intValue(cfg, "", "k", 1, m); // missing: the error names "k"
        }
        double coef = 0;
        if (ours != null && ours.has("l1")) {
            coef = j.number(ours, oursAt, "l1", 0, Double.POSITIVE_INFINITY);
        } else if (ours != null && ours.has("l0_coefficient")) {
            coef = j.number(ours, oursAt, "l0_coefficient", 0, Double.POSITIVE_INFINITY);
        }
        List<Integer> groups = new ArrayList<>();
        if (arch == Architecture.MATRYOSHKA) {
            JsonNode g = j.array(ours, oursAt, "groups");
            for (int i = 0; i < g.size(); i++) {
                groups.add((int) j.integerValue(g.get(i), oursAt, "groups[" + i + "]", 1, m));
            }
        }
        boolean applyBDec = !cfg.has("apply_b_dec_to_input") || j.bool(cfg, "", "apply_b_dec_to_input");
        SaeConfig config;
        try {
            config = new SaeConfig(arch, d, m, k, coef, applyBDec, false, groups);
        } catch (UsageException e) {
            throw new BadInputException(cfgFile, "inconsistent config: " + e.getMessage());
        }
        SafetensorsReader.Contents contents;
        try {
            contents = SafetensorsReader.read(weightsFile);
        } catch (NoSuchFileException e) {
            throw new BadInputException(weightsFile, "missing; a dictionary folder needs cfg.json and "
                    + SaeLensWriter.WEIGHTS_FILE);
        }
        Map<String, Tensor> t = contents.tensors();
        HostMatrix wEnc = tensor(weightsFile, t, "W_enc", d, m);
        HostMatrix wDec = tensor(weightsFile, t, "W_dec", m, d);
        float[] bDec = vector(weightsFile, t, "b_dec", d);
        float[] bEnc = vector(weightsFile, t, arch.encoderBiasName(), m);
        Map<String, float[]> extras = new LinkedHashMap<>();
        List<String> extraNames = switch (arch) {
            case GATED -> List.of("b_mag", "r_mag");
            case JUMPRELU, BATCHTOPK, MATRYOSHKA -> List.of("threshold");
            default -> List.of();
        };
        for (String name : extraNames) {
            extras.put(name, vector(weightsFile, t, name, m));
        }
        float[] logSparsity = null;
        Path sparsityFile = dir.resolve(SaeLensWriter.SPARSITY_FILE);
        if (Files.isRegularFile(sparsityFile)) {
            logSparsity = vector(sparsityFile, SafetensorsReader.read(sparsityFile).tensors(), "sparsity", m);
        }
        return new Loaded(dir, new SaeWeights(config, wEnc, bEnc, wDec, bDec, extras), cfg, logSparsity);
    }

    private static JsonNode readCfg(Path cfgFile) throws IOException {
        String text;
        try {
            text = Files.readString(cfgFile);
        } catch (NoSuchFileException e) {
            throw new BadInputException(cfgFile, "missing; a dictionary folder needs cfg.json and "
                    + SaeLensWriter.WEIGHTS_FILE);
        }
        try {
            JsonNode cfg = JSON.readTree(text);
            if (cfg == null || !cfg.isObject()) {
                throw new BadInputException(cfgFile, "not a JSON object");
            }
            return cfg;
        } catch (JsonProcessingException e) {
            throw new BadInputException(cfgFile, "invalid JSON (" + e.getOriginalMessage() + ")");
        }
    }

    private static Architecture architecture(StrictJson j, JsonNode cfg, JsonNode ours) {
        if (ours != null && ours.has("architecture")) {
            String name = j.text(ours, "metadata.sae_train", "architecture");
            try {
                return Architecture.parse(name);
            } catch (UsageException e) {
                throw new BadInputException(j.file(), "metadata.sae_train.architecture: " + e.getMessage());
            }
        }
        String name = cfg.has("architecture") ? j.text(cfg, "", "architecture") : "standard";
        return switch (name) {
            case "standard" -> Architecture.RELU;
            case "topk" -> Architecture.TOPK;
            case "jumprelu" -> Architecture.JUMPRELU;
            case "gated" -> Architecture.GATED;
            default -> throw new BadInputException(j.file(), "architecture '" + name
                    + "' is not one this tool reads (standard, topk, jumprelu, gated)");
        };
    }

    /** The object at {@code key}, null when absent; present but not an object is an error. */
    private static JsonNode optionalObject(StrictJson j, JsonNode node, String at, String key) {
        return node.has(key) && !node.get(key).isNull() ? j.object(node, at, key) : null;
    }

    /** The vector {@code name} [n]. */
    private static float[] vector(Path file, Map<String, Tensor> tensors, String name, long n) {
        return tensor(file, tensors, name, n).toArray(file + ": tensor \"" + name + "\"");
    }

    /**
     * The float tensor {@code name} of {@code shape} as a matrix (a vector is one row), every value checked finite
     * row by row (it may be paged: more than 2^31 - 1 values).
     */
    private static HostMatrix tensor(Path file, Map<String, Tensor> tensors, String name, long... shape) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new BadInputException(file, "no tensor \"" + name + "\" (has " + tensors.keySet() + ")");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new BadInputException(file, "tensor \"" + name + "\" has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        if (t.dtype() != DType.F32 && t.dtype() != DType.F16 && t.dtype() != DType.BF16) {
            throw new BadInputException(file, "tensor \"" + name + "\" has dtype " + t.dtype()
                    + ", expected a float type");
        }
        HostMatrix v = t.matrix();
        for (int r = 0; r < v.rows(); r++) {
            float[] page = v.page(r);
            int o = v.offset(r);
            for (int c = 0; c < v.cols(); c++) {
                if (!Float.isFinite(page[o + c])) {
                    // A dictionary never holds one (the trainer exports no diverged SAE): the file is damaged.
                    throw new BadInputException(file, "tensor \"" + name + "\"[" + ((long) r * v.cols() + c) + "] = "
                            + page[o + c] + "; a dictionary holds only finite values, the file is damaged");
                }
            }
        }
        return v;
    }
}
