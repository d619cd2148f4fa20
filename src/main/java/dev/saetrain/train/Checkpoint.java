package dev.saetrain.train;

import dev.saetrain.io.JsonFiles;
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
    /** Bumped when the layout changes; a checkpoint of another format is refused. */
    static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    Checkpoint {
        saes = List.copyOf(saes);
        if (step < 0 || step > totalSteps || batch < 1 || metricsBytes < 0) {
            throw new IllegalArgumentException("checkpoint step " + step + " of " + totalSteps + ", batch " + batch
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

    /** Reads checkpoint.json from {@code dir}; throws naming the file when a field is missing. */
    static Checkpoint read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + " is missing; the checkpoint is incomplete, resume from an older one");
        }
        JsonNode root = JsonFiles.read(file);
        if (root.path("format").asInt(-1) != FORMAT) {
            throw new IllegalArgumentException(file + " has format " + root.path("format") + ", this sae-train reads "
                    + FORMAT + "; resume with the sae-train version that wrote it");
        }
        JsonNode s = need(file, root, "stream");
        StreamPosition pos = new StreamPosition(need(file, s, "seed").asLong(), need(file, s, "fingerprint").asLong(),
                need(file, s, "epoch").asLong(), need(file, s, "drawn_in_epoch").asLong(),
                need(file, s, "rows_delivered").asLong(), need(file, s, "skipped_nonfinite").asLong());
        List<Sae> saes = new ArrayList<>();
        for (JsonNode o : need(file, root, "saes")) {
            JsonNode i = need(file, o, "interval");
            IntervalStats iv = new IntervalStats();
            iv.steps = need(file, i, "steps").asInt();
            iv.rows = need(file, i, "rows").asLong();
            iv.sse = need(file, i, "sse").asDouble();
            iv.centeredSse = need(file, i, "centered_sse").asDouble();
            iv.active = need(file, i, "active").asLong();
            iv.sparsityLoss = need(file, i, "sparsity_loss").asDouble();
            iv.auxLoss = need(file, i, "aux_loss").asDouble();
            iv.gradNorm = need(file, i, "grad_norm").asDouble();
            iv.denseSteps = need(file, i, "dense_steps").asInt();
            iv.lastDead = need(file, i, "last_dead").asInt();
            JsonNode rows = need(file, o, "firing_rows");
            JsonNode d = o.get("diverged");
            FamilyMember.Divergence div = d == null ? null : new FamilyMember.Divergence(need(file, d, "step").asLong(),
                    need(file, d, "reason").asText(), need(file, d, "last_good_step").asLong());
            saes.add(new Sae(need(file, o, "name").asText(), need(file, o, "engine_step").asInt(),
                    need(file, o, "last_density").asDouble(), iv, new long[] {rows.path(0).asLong(), rows.path(1).asLong()},
                    div));
        }
        return new Checkpoint(need(file, root, "step").asLong(), need(file, root, "total_steps").asLong(),
                need(file, root, "batch").asInt(), need(file, root, "seed").asLong(),
                Float.intBitsToFloat(need(file, root, "scale_bits").asInt()), pos,
                need(file, root, "metrics_bytes").asLong(), need(file, root, "elapsed_s").asDouble(), saes);
    }

    private static JsonNode need(Path file, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException(file + " lacks '" + field + "'; the checkpoint is damaged, "
                    + "point checkpoints/latest at the older step-* folder or start the run again");
        }
        return v;
    }
}
