package dev.saetrain.export;

import dev.saetrain.error.UsageException;
import dev.saetrain.io.AtomicFiles;
import dev.saetrain.io.SafetensorsWriter;
import dev.saetrain.io.Tensor;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one SAE as a SAELens (>= 6) dictionary folder that {@code SAE.load_from_disk(path)} loads as it is:
 * <pre>
 *   saeDir/
 *     sae_weights.safetensors   F32, C order: W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc [d_sae], b_dec [d_in]
 *                               (gated: b_gate in b_enc's place), then the extras, each [d_sae]
 *     cfg.json                  see {@link SaeLensCfg}
 *     sparsity.safetensors      F32 "sparsity" [d_sae] = log10(firing frequency + 1e-10), as SAELens's trainer saves it
 * </pre>
 * The weights must already take raw activations: fold the training normalisation first
 * ({@link SaeWeights#foldScale}: biases and thresholds / c, matrices as trained), which is why cfg.json says
 * {@code normalize_activations: "none"}.
 *
 * <p>No half-written dictionary: the three files are written (each fsynced) into a hidden sibling directory
 * {@code .<name>.tmp-*}, which is then renamed to {@code saeDir} in one step. An existing {@code saeDir} from
 * an earlier export is first renamed aside to {@code .<name>.old-*} and deleted only after the new folder is
 * in place, so at every instant {@code saeDir} is absent, the complete old export, or the complete new one.
 * A crash can leave a hidden {@code .tmp-}/{@code .old-} sibling behind, never a partial {@code saeDir}.
 * An existing directory holding anything but these three files is refused, so an export never deletes
 * a user's files.
 */
public final class SaeLensWriter {
    /** SAELens {@code SAE_WEIGHTS_FILENAME}. */
    public static final String WEIGHTS_FILE = "sae_weights.safetensors";
    /** SAELens {@code SAE_CFG_FILENAME}. */
    public static final String CFG_FILE = "cfg.json";
    /** SAELens {@code SPARSITY_FILENAME}. */
    public static final String SPARSITY_FILE = "sparsity.safetensors";
    /** Added before log10 so that dead latents give -10, not -inf (SAELens {@code _log_feature_sparsity}). */
    public static final double SPARSITY_EPS = 1e-10;

    private static final Set<String> EXPORT_FILES = Set.of(WEIGHTS_FILE, CFG_FILE, SPARSITY_FILE);
    private static final Logger LOG = LoggerFactory.getLogger(SaeLensWriter.class);

    private SaeLensWriter() {
    }

    /**
     * Writes the dictionary folder {@code saeDir} (parents are created; a previous export there is replaced).
     *
     * @param saeDir              the folder to create, e.g. {@code runs/<id>/saes/x16-k32}
     * @param weightsForRawInputs weights with the input scale already folded in (not modified)
     * @param firingFrequency     [nLatents], fraction of training tokens on which each latent fired, in [0, 1]
     * @param info                what cfg.json records beyond the config
     */
    public static void write(Path saeDir, SaeWeights weightsForRawInputs, double[] firingFrequency, ExportInfo info)
            throws IOException {
        SaeConfig cfg = weightsForRawInputs.config();
        float[] sparsity = logSparsity(firingFrequency, cfg.nLatents());
        Path target = saeDir.toAbsolutePath().normalize();
        Path parent = target.getParent();
        if (parent == null) {
            throw new UsageException("cannot export an SAE to the file-system root " + target
                    + "; give a folder name such as runs/<id>/saes/<name>");
        }
        String name = target.getFileName().toString();
        checkReplaceable(target);
        Files.createDirectories(parent);
        Path staging = createStagingDir(parent, "." + name + ".tmp-");
        try {
            writeWeights(staging.resolve(WEIGHTS_FILE), weightsForRawInputs);
            SafetensorsWriter.write(staging.resolve(SPARSITY_FILE),
                    Map.of("sparsity", Tensor.f32(sparsity, cfg.nLatents())), null);
            AtomicFiles.writeString(staging.resolve(CFG_FILE), SaeLensCfg.toText(cfg, info,
                    cfg.unitNormDecoder() && weightsForRawInputs.decoderRowsUnitNorm(SaeLensCfg.UNIT_NORM_TOL)));
            moveIntoPlace(staging, target, name);
        } catch (IOException | RuntimeException e) {
            try {
                deleteTree(staging);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** log10(freq + 1e-10) per latent, computed in double and rounded once to float. */
    static float[] logSparsity(double[] firingFrequency, int nLatents) {
        if (firingFrequency == null || firingFrequency.length != nLatents) {
            throw new IllegalArgumentException("firing frequency needs one value per latent (" + nLatents + "), got "
                    + (firingFrequency == null ? "null" : firingFrequency.length));
        }
        float[] out = new float[nLatents];
        for (int i = 0; i < nLatents; i++) {
            double f = firingFrequency[i];
            if (!(f >= 0 && f <= 1)) {
                throw new IllegalArgumentException("firing frequency of latent " + i + " is " + f
                        + "; it must be a fraction of tokens in [0, 1]");
            }
            out[i] = (float) Math.log10(f + SPARSITY_EPS);
        }
        return out;
    }

    /**
     * A new empty directory {@code prefix<random>} with default permissions (0777 minus the umask);
     * Files.createTempDirectory would make it 0700, and the rename would leave the export private to its owner.
     */
    private static Path createStagingDir(Path parent, String prefix) throws IOException {
        FileAlreadyExistsException last = null;
        for (int attempt = 0; attempt < 100; attempt++) {
            String random = Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
            try {
                return Files.createDirectory(parent.resolve(prefix + random));
            } catch (FileAlreadyExistsException e) {
                last = e; // name taken by a concurrent export; draw another
            }
        }
        throw new IOException("cannot create a staging directory " + prefix + "* in " + parent
                + " after 100 attempts; remove stale .tmp- directories there", last);
    }

    private static void writeWeights(Path file, SaeWeights w) throws IOException {
        int d = w.config().dIn();
        int m = w.config().nLatents();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("W_enc", Tensor.f32(w.wEnc()));
        tensors.put("W_dec", Tensor.f32(w.wDec()));
        tensors.put(w.config().arch().encoderBiasName(), Tensor.f32(w.bEnc(), m));
        tensors.put("b_dec", Tensor.f32(w.bDec(), d));
        w.extras().forEach((name, v) -> tensors.put(name, Tensor.f32(v, m)));
        SafetensorsWriter.write(file, tensors, null);
    }

    /** Refuses a target that is a file, a link, or a directory with files an export would not have written. */
    private static void checkReplaceable(Path target) throws IOException {
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new UsageException(target + " exists and is not a directory; remove it or export the SAE"
                    + " under another name");
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(target)) {
            for (Path e : entries) {
                if (!EXPORT_FILES.contains(e.getFileName().toString())) {
                    throw new UsageException("refusing to replace " + target + ": it holds " + e.getFileName()
                            + ", which is not part of a SAELens export " + List.copyOf(EXPORT_FILES)
                            + "; move that file away or export the SAE under another name");
                }
            }
        }
    }

    private static void moveIntoPlace(Path staging, Path target, String name) throws IOException {
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            return;
        }
        String suffix = staging.getFileName().toString().substring(("." + name + ".tmp-").length());
        Path old = target.resolveSibling("." + name + ".old-" + suffix);
        Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        try {
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException restore) {
                e.addSuppressed(restore);
            }
            throw e;
        }
        try {
            deleteTree(old);
        } catch (IOException e) {
            // The new export is complete and in place; only the superseded copy is left over.
            LOG.warn("exported {} but could not delete the previous export moved to {}: {}; delete it by hand",
                    target, old, e.toString());
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(root)) {
            paths = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : paths) {
            Files.deleteIfExists(p);
        }
    }
}
