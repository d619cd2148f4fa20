package dev.saetrain.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.saetrain.error.BadInputException;
import dev.saetrain.io.JsonFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Checks a cache's {@code dataset_info.json} (datasets' {@code DatasetInfo}) against its Arrow files: the
 * {@code features} must name the same columns, the hook column must be an {@code Array2D} with the files' shape and
 * dtype, and {@code splits[*].num_examples}, when recorded, must add up to the files' sequences. A disagreement means
 * the folder mixes files of two caches (or a copy was cut short), so training on it would be training on something
 * else than the user thinks.
 */
final class DatasetInfo {
    private DatasetInfo() {
    }

    /** Checks {@code info} (absent: nothing to check) against the first file's schema and the sequence count. */
    static void check(Path info, ArrowStream first, ArrowColumns hook, long sequences) {
        if (!Files.isRegularFile(info)) {
            return;
        }
        JsonNode root;
        try {
            root = JsonFiles.read(info);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + info + ": " + e.getMessage(), e);
        }
        JsonNode features = root.path("features");
        if (!features.isObject()) {
            throw disagree(info, "it has no features object");
        }
        TreeSet<String> inInfo = new TreeSet<>();
        features.fieldNames().forEachRemaining(inInfo::add);
        TreeSet<String> inFiles = new TreeSet<>();
        ArrowColumns.of(first.file(), first.schema()).forEach(c -> inFiles.add(c.name()));
        if (!inInfo.equals(inFiles)) {
            throw disagree(info, "it lists the columns " + inInfo + ", the files hold " + inFiles);
        }
        JsonNode h = features.get(hook.name());
        List<Long> shape = new ArrayList<>();
        h.path("shape").forEach(n -> shape.add(n.asLong()));
        String dtype = h.path("dtype").asText("");
        if (!"Array2D".equals(h.path("_type").asText()) || !shape.equals(List.of(hook.shape()[0], hook.shape()[1]))
                || ArrowBatches.dtypeOf(dtype) != hook.dtype()) {
            throw disagree(info, "column " + hook.name() + " is " + h + " there, the files hold Array2D shape ["
                    + hook.shape()[0] + ", " + hook.shape()[1] + "] of " + hook.dtype());
        }
        JsonNode splits = root.path("splits");
        if (splits.isObject() && splits.size() > 0) {
            long recorded = 0;
            for (JsonNode s : splits) {
                recorded += s.path("num_examples").asLong(0);
            }
            if (recorded != sequences) {
                throw disagree(info, "its splits record " + recorded + " examples, the files hold " + sequences
                        + " sequences");
            }
        }
    }

    private static BadInputException disagree(Path info, String detail) {
        return new BadInputException(info, "disagrees with the Arrow files: " + detail + "; the folder mixes two "
                + "caches or was copied incompletely, regenerate it");
    }
}
