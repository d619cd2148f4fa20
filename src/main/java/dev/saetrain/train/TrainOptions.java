package dev.saetrain.train;

import static dev.saetrain.error.Setting.BATCH;
import static dev.saetrain.error.Setting.CHECKPOINT_EVERY;
import static dev.saetrain.error.Setting.CONTEXT_SIZE;
import static dev.saetrain.error.Setting.DEAD_TOKENS;
import static dev.saetrain.error.Setting.EPOCHS;
import static dev.saetrain.error.Setting.HOOK_NAME;
import static dev.saetrain.error.Setting.LOG_EVERY;
import static dev.saetrain.error.Setting.LR;
import static dev.saetrain.error.Setting.MAX_MEMORY;
import static dev.saetrain.error.Setting.MODEL_NAME;
import static dev.saetrain.error.Setting.RESAMPLE_EVERY;
import static dev.saetrain.error.Setting.RUN_NAME;
import static dev.saetrain.error.Setting.THREADS;
import static dev.saetrain.error.Setting.TOKENS;

import dev.saetrain.data.StreamOptions;
import dev.saetrain.error.Setting;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.SaeConfig;
import java.nio.file.Path;
import java.util.List;

/**
 * Everything a training run needs besides the data, resolved from the command line.
 *
 * @param saes          the SAEs to train on the same batches (a family), at least one
 * @param batch         rows per step
 * @param lr            peak learning rate (finite, > 0), or NaN for each SAE's default ({@link SaeConfig#defaultLr()})
 * @param epochs        passes over the data when {@code tokens} is 0
 * @param tokens        rows to train on (overrides epochs when > 0; at least one batch)
 * @param seed          seed of initialisation and data order
 * @param deadTokens    tokens without firing after which a latent is dead (Gao et al. 2024: 10M)
 * @param logEvery      steps between metric rows
 * @param skipNonFinite skip rows holding NaN/Inf instead of failing
 * @param outDir        parent of the run directory
 * @param runName       run directory name
 * @param hookName      hook the activations came from, recorded in cfg.json (SAELens metadata)
 * @param modelName     model the activations came from (SAELens metadata)
 * @param contextSize   tokens per context when the activations were cached, or null if unknown
 * @param prependBos    whether contexts began with BOS, or null if unknown
 * @param maxMemory     bytes the family may allocate on the device
 * @param maxMemoryGiven whether the user set that limit ({@link Setting#MAX_MEMORY}), else it is the default budget
 * @param checkpointEvery tokens between checkpoints, or 0 for checkpoints only at the end and on SIGTERM/SIGINT
 * @param threads       CPU threads of the device, recorded so that a resume uses the same count (the CPU
 *                      device's parallel sums are chunked per thread, so another count changes the last bits)
 * @param resampleEvery steps between dead-latent resamplings of relu-2023 SAEs: -1 for a fifth of the run,
 *                      0 for none (see {@link Resampler.Plan#forRun})
 * @param recipe        LR warm-up and decay, b_dec's start, input scaling, AuxK weight, Adam epsilon
 *                      ({@link Recipe#DEFAULT} when none is given; {@link Recipe#ORIGINAL}: the recipe of runs
 *                      before these were options)
 * @param shuffleRows   rows of the data order's shuffle buffer: {@link StreamOptions#AUTO_ROWS},
 *                      {@link StreamOptions#ALL_ROWS} or a number of rows (see {@link StreamOptions#shuffleRows()})
 */
public record TrainOptions(List<SaeConfig> saes, int batch, double lr, int epochs, long tokens, long seed,
                           long deadTokens, int logEvery, boolean skipNonFinite, Path outDir, String runName,
                           String hookName, String modelName, Integer contextSize, Boolean prependBos,
                           long maxMemory, boolean maxMemoryGiven, long checkpointEvery, int threads,
                           int resampleEvery, Recipe recipe, int shuffleRows) {
    /** Default of the checkpoint interval: about every 10-20 minutes for a 16x family at d = 4096 on one GPU. */
    public static final long DEFAULT_CHECKPOINT_TOKENS = 50_000_000L;

    public TrainOptions {
        saes = List.copyOf(saes);
        if (recipe == null) {
            throw new IllegalArgumentException("no training recipe given; use Recipe.DEFAULT");
        }
        if (saes.isEmpty()) {
            throw new IllegalArgumentException("nothing to train: no SAE configured");
        }
        if (batch < 1) {
            throw new UsageException(BATCH, "must be >= 1, got " + batch);
        }
        if (epochs < 1) {
            throw new UsageException(EPOCHS, "must be >= 1, got " + epochs);
        }
        if (tokens < 0) {
            throw new UsageException(TOKENS, "must be >= 0, got " + tokens);
        }
        if (tokens > 0 && tokens < batch) {
            // An option problem, not a data one: no shard can make a batch out of fewer tokens than it holds.
            throw new UsageException(TOKENS, tokens + " is less than one batch (", BATCH, " " + batch + "); give ",
                    TOKENS, " >= " + batch + " or a smaller ", BATCH);
        }
        if (!Double.isNaN(lr) && !(lr > 0 && Double.isFinite(lr))) {
            throw new UsageException(LR, "must be a positive finite number, got " + lr
                    + "; leave it out for the architecture's default");
        }
        if (deadTokens < 1) {
            throw new UsageException(DEAD_TOKENS, "must be >= 1, got " + deadTokens);
        }
        if (logEvery < 1) {
            throw new UsageException(LOG_EVERY, "must be >= 1, got " + logEvery);
        }
        if (resampleEvery < -1) {
            throw new UsageException(RESAMPLE_EVERY, "must be >= 0 (0: never), got " + resampleEvery);
        }
        if (maxMemory < 1) {
            throw new UsageException(MAX_MEMORY, "must be positive, got " + maxMemory);
        }
        if (checkpointEvery < 0) {
            throw new UsageException(CHECKPOINT_EVERY, "must be >= 0 tokens (0: only at the end), got "
                    + checkpointEvery);
        }
        StreamOptions.requireShuffleRows(shuffleRows);
        if (threads < 1) {
            throw new UsageException(THREADS, "must be >= 1, got " + threads);
        }
        if (runName == null || runName.isBlank() || runName.contains("/") || runName.startsWith(".")
                || hasControl(runName)) {
            throw new UsageException(RUN_NAME, "must be a plain folder name (no '/', no leading '.', no control "
                    + "characters), got '" + printable(runName) + "'");
        }
        // These go into every dictionary's cfg.json at export, after the whole training: refuse them now, not then.
        requireLabel(HOOK_NAME, hookName);
        requireLabel(MODEL_NAME, modelName);
        if (contextSize != null && contextSize < 1) {
            throw new UsageException(CONTEXT_SIZE, "must be >= 1, got " + contextSize
                    + "; leave it out if unknown");
        }
    }

    private static void requireLabel(Setting setting, String value) {
        if (value == null || value.isBlank() || hasControl(value)) {
            throw new UsageException(setting, "must be a non-empty name without control characters, got '"
                    + printable(value) + "'; leave it out if unknown");
        }
    }

    private static boolean hasControl(String s) {
        return s.codePoints().anyMatch(Character::isISOControl);
    }

    /** {@code s} with control characters shown as U+XXXX, so that an error message stays one readable line. */
    static String printable(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(c -> b.append(Character.isISOControl(c) ? String.format("U+%04X", c)
                : new String(Character.toChars(c))));
        return b.toString();
    }

    /** Rows the run trains on for a data set of {@code totalRows} rows. */
    public long plannedRows(long totalRows) {
        return tokens > 0 ? tokens : Math.multiplyExact(totalRows, (long) epochs);
    }

    /** Steps between periodic checkpoints (at least one batch), or 0 when they are off. */
    public long checkpointSteps() {
        return checkpointEvery == 0 ? 0 : Math.max(1, (checkpointEvery + batch - 1) / batch);
    }

    /**
     * How the run's stream delivers {@code maxRows} rows times {@code scale}: batch, seed, shuffle buffer and the
     * handling of non-finite rows.
     */
    public StreamOptions streamOptions(long maxRows, float scale) {
        return StreamOptions.of(batch, maxRows, seed).withScale(scale).withSkipNonFinite(skipNonFinite)
                .withShuffleRows(shuffleRows);
    }

    /** These options with another recipe. */
    public TrainOptions withRecipe(Recipe r) {
        return new TrainOptions(saes, batch, lr, epochs, tokens, seed, deadTokens, logEvery, skipNonFinite, outDir,
                runName, hookName, modelName, contextSize, prependBos, maxMemory, maxMemoryGiven, checkpointEvery,
                threads, resampleEvery, r, shuffleRows);
    }

    /** The learning rate of {@code sae}: the explicit --lr or the architecture's default. */
    public double lrFor(SaeConfig sae) {
        return Double.isNaN(lr) ? sae.defaultLr() : lr;
    }
}
