package dev.saetrain.train;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.JsonFiles;
import dev.saetrain.io.StrictJson;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.data.StreamPosition;
import dev.saetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The scalars of a checkpoint, {@code checkpoint.json}; the tensors of each SAE are in {@link SaeStateFile}s
 * beside it. Doubles are written by Jackson as {@code Double.toString}, which reads back to the same bits, so
 * the interval sums restored from here give the metrics rows an uninterrupted run would have written.
 *
 * @param step           steps the family has taken (the trainer's counter); training continues at step + 1
 * @param totalSteps     steps of the whole run; a resume that computes another count is refused
 * @param batch          rows per step
 * @param seed           the run's seed
 * @param scale          the input normalisation factor (exact bits)
 * @param position       where the activation stream stands
 * @param metricsBytes   length of metrics.jsonl when the checkpoint was taken; a resume truncates to it
 * @param elapsedSeconds training time so far, summed over earlier sessions of the run
 * @param saes           one entry per SAE of the family, in family order
 */
record Checkpoint(long step, long totalSteps, int batch, long seed, float scale, StreamPosition position,
                  long metricsBytes, double elapsedSeconds, List<Sae> saes) {
    static final String FILE = "checkpoint.json";
    /**
     * Bumped when the layout changes; a checkpoint of another format is refused. 2: the folder holds
     * {@link CheckpointManifest#FILE} with the checksum of every file; 1 ({@link #FORMAT_UNCHECKED}) is the same
     * layout without it, written before checksums existed, still resumed (with a warning that it cannot be verified).
     */
    static final int FORMAT = 2;
    static final int FORMAT_UNCHECKED = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    Checkpoint {
        saes = List.copyOf(saes);
        if (step < 0 || step > totalSteps || batch < 1 || metricsBytes < 0) {
            throw new UsageException("checkpoint step " + step + " of " + totalSteps + ", batch " + batch
                    + ", metrics length " + metricsBytes + " are inconsistent; the checkpoint is corrupt");
        }
    }

    /**
     * One SAE's scalars.
     *
     * @param name        the SAE's name (its state file is {@code <name>.safetensors})
     * @param engineStep  the engine's own step counter (Adam's t)
     * @param lastDensity the relu path's measured density (picks dense or sparse products on the next step)
     * @param interval    the metrics interval in progress
     * @param firingRows  rows behind the firing counts: all, late window
     * @param divergence  null while the SAE trains
     */
    record Sae(String name, int engineStep, double lastDensity, IntervalStats interval, long[] firingRows,
               FamilyMember.Divergence divergence) {
    }

    /** Writes checkpoint.json into {@code dir} (fsynced). */
    void write(Path dir) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("step", step);
        root.put("total_steps", totalSteps);
        root.put("batch", batch);
        root.put("seed", seed);
        root.put("scale", scale);
        root.put("scale_bits", Float.floatToRawIntBits(scale));
        root.put("metrics_bytes", metricsBytes);
        root.put("elapsed_s", elapsedSeconds);
        ObjectNode s = root.putObject("stream");
        s.put("seed", position.seed());
        s.put("fingerprint", position.fingerprint());
        s.put("epoch", position.epoch());
        s.put("drawn_in_epoch", position.drawnInEpoch());
        s.put("rows_delivered", position.rowsDelivered());
        s.put("skipped_nonfinite", position.skippedNonFinite());
        var arr = root.putArray("saes");
        for (Sae sae : saes) {
            ObjectNode o = arr.addObject();
            o.put("name", sae.name());
            o.put("engine_step", sae.engineStep());
            o.put("last_density", sae.lastDensity());
            IntervalStats iv = sae.interval();
            ObjectNode i = o.putObject("interval");
            i.put("steps", iv.steps);
            i.put("rows", iv.rows);
            i.put("sse", iv.sse);
            i.put("centered_sse", iv.centeredSse);
            i.put("active", iv.active);
            i.put("sparsity_loss", iv.sparsityLoss);
            i.put("aux_loss", iv.auxLoss);
            i.put("grad_norm", iv.gradNorm);
            i.put("dense_steps", iv.denseSteps);
            i.put("last_dead", iv.lastDead);
            o.putArray("firing_rows").add(sae.firingRows()[0]).add(sae.firingRows()[1]);
            if (sae.divergence() != null) {
                ObjectNode d = o.putObject("diverged");
                d.put("step", sae.divergence().step());
                d.put("reason", sae.divergence().reason());
                d.put("last_good_step", sae.divergence().lastGoodStep());
            }
        }
        AtomicFiles.writeString(dir.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }

    /** Reads checkpoint.json from {@code dir} (see {@link #parse}). */
    static Checkpoint read(Path dir) throws IOException {
        return parse(dir).checkpoint();
    }

    /**
     * checkpoint.json as read, with the format it was written in: {@link #FORMAT_UNCHECKED} (before checksums) or
     * {@link #FORMAT}.
     */
    record Parsed(Checkpoint checkpoint, int format) {
    }

    /**
     * Reads checkpoint.json from {@code dir} strictly: every field must be there with its JSON type and in its range
     * (a string where a number belongs, a fraction where an integer belongs, a negative step are refused, never read as
     * 0), so a damaged file is a {@link dev.saetrain.error.BadInputException} naming the file and the key instead of a
     * resume from wrong values.
     */
    static Parsed parse(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file, "missing; the checkpoint is incomplete");
        }
        JsonNode root = JsonFiles.read(file);
        StrictJson j = new StrictJson(file);
        if (root == null || !root.isObject()) {
            throw new BadInputException(file, "not a JSON object; the file is damaged");
        }
        int format = j.intValue(root, "", "format", 1, Integer.MAX_VALUE);
        if (format != FORMAT && format != FORMAT_UNCHECKED) {
            throw new BadInputException(file, "has format " + format + ", this sae-train reads " + FORMAT_UNCHECKED
                    + " and " + FORMAT + "; resume with the sae-train version that wrote it");
        }
        long totalSteps = j.integer(root, "", "total_steps", 1, Long.MAX_VALUE);
        long step = j.integer(root, "", "step", 0, totalSteps);
        int batch = j.intValue(root, "", "batch", 1, Integer.MAX_VALUE);
        long seed = j.integer(root, "", "seed", Long.MIN_VALUE, Long.MAX_VALUE);
        j.number(root, "", "scale", 0, Double.POSITIVE_INFINITY); // written for people; scale_bits is what is read
        float scale = Float.intBitsToFloat(j.intValue(root, "", "scale_bits", Integer.MIN_VALUE, Integer.MAX_VALUE));
        if (!(Float.isFinite(scale) && scale > 0)) {
            throw j.bad("", "scale_bits", "the bits of a finite positive float", root.get("scale_bits"));
        }
        long metricsBytes = j.integer(root, "", "metrics_bytes", 0, Long.MAX_VALUE);
        double elapsed = j.number(root, "", "elapsed_s", 0, Double.POSITIVE_INFINITY);
        JsonNode s = j.object(root, "", "stream");
        StreamPosition pos = new StreamPosition(j.integer(s, "stream", "seed", Long.MIN_VALUE, Long.MAX_VALUE),
                j.integer(s, "stream", "fingerprint", Long.MIN_VALUE, Long.MAX_VALUE),
                j.integer(s, "stream", "epoch", 0, Long.MAX_VALUE), j.integer(s, "stream", "drawn_in_epoch", 0, Long.MAX_VALUE),
                j.integer(s, "stream", "rows_delivered", 0, Long.MAX_VALUE),
                j.integer(s, "stream", "skipped_nonfinite", 0, Long.MAX_VALUE));
        JsonNode arr = j.array(root, "", "saes");
        if (arr.isEmpty()) {
            throw j.bad("", "saes", "a non-empty array", arr);
        }
        List<Sae> saes = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        for (int n = 0; n < arr.size(); n++) {
            String at = "saes[" + n + "]";
            JsonNode o = arr.get(n);
            if (!o.isObject()) {
                throw j.bad("saes", "[" + n + "]", "an object", o);
            }
            String name = j.text(o, at, "name");
            if (!name.matches("[A-Za-z0-9._-]+") || !names.add(name)) {
                throw j.bad(at, "name", "a unique SAE folder name", o.get("name"));
            }
            String ai = at + ".interval";
            JsonNode i = j.object(o, at, "interval");
            IntervalStats iv = new IntervalStats();
            iv.steps = j.intValue(i, ai, "steps", 0, Integer.MAX_VALUE);
            iv.rows = j.integer(i, ai, "rows", 0, Long.MAX_VALUE);
            iv.sse = j.number(i, ai, "sse", 0, Double.POSITIVE_INFINITY);
            iv.centeredSse = j.number(i, ai, "centered_sse", 0, Double.POSITIVE_INFINITY);
            iv.active = j.integer(i, ai, "active", 0, Long.MAX_VALUE);
            iv.sparsityLoss = j.number(i, ai, "sparsity_loss", Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
            iv.auxLoss = j.number(i, ai, "aux_loss", Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
            iv.gradNorm = j.number(i, ai, "grad_norm", 0, Double.POSITIVE_INFINITY);
            iv.denseSteps = j.intValue(i, ai, "dense_steps", 0, iv.steps);
            iv.lastDead = j.intValue(i, ai, "last_dead", 0, Integer.MAX_VALUE);
            JsonNode rows = j.array(o, at, "firing_rows");
            if (rows.size() != 2) {
                throw j.bad(at, "firing_rows", "an array of 2 row counts", rows);
            }
            long[] firingRows = new long[2];
            for (int r = 0; r < 2; r++) {
                firingRows[r] = j.integerValue(rows.get(r), at, "firing_rows[" + r + "]", 0, Long.MAX_VALUE);
            }
            FamilyMember.Divergence div = null;
            if (o.has("diverged")) {
                String ad = at + ".diverged";
                JsonNode d = j.object(o, at, "diverged");
                long divStep = j.integer(d, ad, "step", 0, step);
                div = new FamilyMember.Divergence(divStep, j.text(d, ad, "reason"),
                        j.integer(d, ad, "last_good_step", -1, Math.min(step, divStep)));
            }
            saes.add(new Sae(name, j.intValue(o, at, "engine_step", 0, Integer.MAX_VALUE),
                    j.number(o, at, "last_density", 0, 1), iv, firingRows, div));
        }
        return new Parsed(new Checkpoint(step, totalSteps, batch, seed, scale, pos, metricsBytes, elapsed, saes), format);
    }
}
