package dev.saetrain.export;

import static dev.saetrain.error.Setting.EXPORT_FORMAT;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.AtomicFiles;
import dev.saetrain.io.DType;
import dev.saetrain.io.HostMatrix;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.SafetensorsWriter;
import dev.saetrain.io.Tensor;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Writes a dictionary read by {@link SaeLensReader} in another tool's layout ({@code sae-train export}):
 * <ul>
 *   <li>{@code saelens}: the folder's {@code cfg.json}, {@code sae_weights.safetensors} and
 *       {@code sparsity.safetensors} (when present), copied byte for byte after the folder has been read and
 *       checked.</li>
 *   <li>{@code sparsify} (EleutherAI/sparsify {@code SparseCoder.load_from_disk}): {@code sae.safetensors} with
 *       {@code encoder.weight} [m, d] (W_enc transposed), {@code encoder.bias} [m], {@code W_dec} [m, d], {@code b_dec}
 *       [d], and {@code cfg.json} with {@code d_in}, {@code num_latents}, {@code k}, {@code activation: "topk"} and
 *       {@code normalize_decoder} true only when every W_dec row has unit norm (sparsify renormalises rows when it
 *       is set, which would undo a scale folded into W_dec).
 *       sparsify always encodes {@code x - b_dec}; a dictionary with {@code apply_b_dec_to_input} false gets
 *       {@code b_enc + b_dec W_enc} as its encoder bias, which gives the same pre-activations. TopK only: sparsify
 *       has no ReLU/JumpReLU/gated SAE.</li>
 *   <li>{@code npy}: one .npy per tensor, as SAELens names them ({@code W_enc.npy} [d, m], {@code W_dec.npy} [m, d],
 *       {@code b_enc.npy} or {@code b_gate.npy}, {@code b_dec.npy}, extras such as {@code threshold.npy}), F32, plus
 *       the SAELens {@code cfg.json} to say how to use them.</li>
 * </ul>
 * The output folder must not exist; it is written as a hidden sibling and renamed into place, so it appears whole.
 */
public final class DictionaryExport {
    /** Output layouts. */
    public enum Format {
        SAELENS, SPARSIFY, NPY;

        /** Parses {@code saelens}, {@code sparsify} or {@code npy}. */
        public static Format parse(String s) {
            for (Format f : values()) {
                if (f.name().toLowerCase(Locale.ROOT).equals(s.toLowerCase(Locale.ROOT))) {
                    return f;
                }
            }
            throw UsageException.of("unknown ", EXPORT_FORMAT, " '" + s + "'; use saelens, sparsify or npy");
        }
    }

    /** sparsify's weights file. */
    public static final String SPARSIFY_WEIGHTS = "sae.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private DictionaryExport() {
    }

    /**
     * Refuses, before anything is written, an export of {@code saeDir} to {@code outDir} that would fail: a target
     * that exists, a dictionary that cannot be read, an architecture the format lacks. Commands exporting several
     * dictionaries check them all first, so that a refusal never leaves some exported and others not.
     *
     * @return the dictionary, read
     */
    public static SaeLensReader.Loaded check(Path saeDir, Format format, Path outDir) throws IOException {
        if (Files.exists(outDir.toAbsolutePath().normalize(), LinkOption.NOFOLLOW_LINKS)) {
            throw new UsageException(outDir + " already exists; remove it or export to another folder");
        }
        SaeLensReader.Loaded sae = SaeLensReader.read(saeDir);
        if (format == Format.SPARSIFY) {
            checkSparsify(sae);
        }
        return sae;
    }

    /** Exports the dictionary folder {@code saeDir} to the new folder {@code outDir} in {@code format}. */
    public static void export(Path saeDir, Format format, Path outDir) throws IOException {
        SaeLensReader.Loaded sae = check(saeDir, format, outDir);
        Path target = outDir.toAbsolutePath().normalize();
        Files.createDirectories(target.getParent());
        Path staging = Files.createDirectory(target.resolveSibling("." + target.getFileName() + ".tmp-"
                + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36)));
        boolean done = false;
        try {
            switch (format) {
                case SAELENS -> {
                    for (String f : List.of(SaeLensWriter.CFG_FILE, SaeLensWriter.WEIGHTS_FILE, SaeLensWriter.SPARSITY_FILE)) {
                        if (Files.isRegularFile(saeDir.resolve(f))) {
                            // Streamed: the weights file may pass the 2 GiB a byte[] holds.
                            Path src = saeDir.resolve(f);
                            AtomicFiles.write(staging.resolve(f), out -> Files.copy(src, out));
                        }
                    }
                }
                case SPARSIFY -> writeSparsify(sae.weights(), staging);
                case NPY -> writeNpy(sae, staging);
            }
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            done = true;
        } finally {
            if (!done) {
                try (Stream<Path> walk = Files.walk(staging)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }
    }

    private static void checkSparsify(SaeLensReader.Loaded sae) {
        Architecture a = sae.weights().config().arch();
        if (a != Architecture.TOPK) {
            throw new UsageException(sae.dir() + ": sparsify has only TopK SAEs and this dictionary is "
                    + a.cliName() + " (SAELens '" + a.saeLensName() + "'); export it as saelens or npy");
        }
    }

    /**
     * sparsify's tensors for TopK weights {@code w}: encoder.weight is W_enc transposed, [m, d], streamed to the file a
     * block of latents at a time (no second matrix on the heap; d * m may pass 2^31), and without apply_b_dec_to_input
     * encoder.bias folds in b_dec W_enc.
     */
    static Map<String, SafetensorsWriter.Streamed> sparsifyTensors(SaeWeights w) {
        SaeConfig c = w.config();
        int d = c.dIn();
        int m = c.nLatents();
        HostMatrix wEnc = w.wEnc();
        double[] b = new double[m];
        for (int i = 0; i < m; i++) {
            b[i] = w.bEnc()[i];
        }
        if (!c.applyBDecToInput()) {
            for (int j = 0; j < d; j++) {
                float[] row = wEnc.page(j);
                int o = wEnc.offset(j);
                double bj = w.bDec()[j];
                for (int i = 0; i < m; i++) {
                    b[i] += bj * row[o + i];
                }
            }
        }
        float[] bias = new float[m];
        for (int i = 0; i < m; i++) {
            bias[i] = (float) b[i];
        }
        Map<String, SafetensorsWriter.Streamed> t = new LinkedHashMap<>();
        t.put("encoder.weight", new SafetensorsWriter.Streamed(DType.F32, new long[] {m, d}, out -> {
            int block = Math.max(1, Math.min(m, (1 << 18) / d));
            float[] rows = new float[block * d];
            ByteBuffer bytes = ByteBuffer.allocate(rows.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (int i0 = 0; i0 < m; i0 += block) {
                int n = Math.min(block, m - i0);
                wEnc.transposedRows(i0, n, rows);
                bytes.clear();
                bytes.asFloatBuffer().put(rows, 0, n * d);
                out.write(bytes.array(), 0, n * d * Float.BYTES);
            }
        }));
        t.put("encoder.bias", SafetensorsWriter.Streamed.of(Tensor.f32(bias, m)));
        t.put("W_dec", SafetensorsWriter.Streamed.of(Tensor.f32(w.wDec())));
        t.put("b_dec", SafetensorsWriter.Streamed.of(Tensor.f32(w.bDec(), d)));
        return t;
    }

    private static void writeSparsify(SaeWeights w, Path dir) throws IOException {
        SaeConfig c = w.config();
        SafetensorsWriter.writeStreamed(dir.resolve(SPARSIFY_WEIGHTS), sparsifyTensors(w), null);
        // sparsify's SparseCoderConfig fields; num_latents overrides expansion_factor when non-zero.
        ObjectNode cfg = JSON.createObjectNode();
        cfg.put("activation", "topk");
        cfg.put("expansion_factor", Math.max(1, c.nLatents() / c.dIn()));
        // sparsify's trainer renormalises decoder rows when this is set, so it may be true only if they already are
        // unit-norm: exports since the biases-only folding (SaeWeights.foldScale) are; older ones (rows 1 / c) are not.
        cfg.put("normalize_decoder", c.unitNormDecoder() && w.decoderRowsUnitNorm(SaeLensCfg.UNIT_NORM_TOL));
        cfg.put("num_latents", c.nLatents());
        cfg.put("k", c.k());
        cfg.put("multi_topk", false);
        cfg.put("skip_connection", false);
        cfg.put("transcode", false);
        cfg.put("d_in", c.dIn());
        AtomicFiles.writeString(dir.resolve("cfg.json"), JSON.writeValueAsString(cfg) + "\n");
    }

    private static void writeNpy(SaeLensReader.Loaded sae, Path dir) throws IOException {
        SaeWeights w = sae.weights();
        int d = w.config().dIn();
        int m = w.config().nLatents();
        NpyWriter.write(dir.resolve("W_enc.npy"), Tensor.f32(w.wEnc()));
        NpyWriter.write(dir.resolve("W_dec.npy"), Tensor.f32(w.wDec()));
        NpyWriter.write(dir.resolve(w.config().arch().encoderBiasName() + ".npy"), Tensor.f32(w.bEnc(), m));
        NpyWriter.write(dir.resolve("b_dec.npy"), Tensor.f32(w.bDec(), d));
        for (Map.Entry<String, float[]> e : w.extras().entrySet()) {
            NpyWriter.write(dir.resolve(e.getKey() + ".npy"), Tensor.f32(e.getValue(), m));
        }
        byte[] cfg = Files.readAllBytes(sae.dir().resolve(SaeLensWriter.CFG_FILE));
        AtomicFiles.write(dir.resolve(SaeLensWriter.CFG_FILE), out -> out.write(cfg));
    }
}
