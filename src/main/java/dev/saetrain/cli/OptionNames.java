package dev.saetrain.cli;

import dev.saetrain.error.Setting;
import dev.saetrain.error.UsageException;

/**
 * The command-line option of each {@link Setting}: the one place where the packages below the CLI meet the option
 * names. A {@link UsageException} holds settings, not spellings; {@link #message} renders it for stderr, so that
 * "--k must be in [1, 64] ..." names exactly what the user typed. The switch has no default: a new setting does not
 * compile until it has its option, and OptionNamesTest checks each option against the commands' picocli specs.
 */
final class OptionNames {
    private OptionNames() {
    }

    /** The option that sets {@code s}, e.g. "--k". */
    static String of(Setting s) {
        return switch (s) {
            case ARCH -> "--arch";
            case EXPANSION -> "--expansion";
            case K -> "--k";
            case L1 -> "--l1";
            case L0_COEF -> "--l0-coef";
            case TIED -> "--tied";
            case GROUPS -> "--groups";
            case BATCH -> "--batch";
            case LR -> "--lr";
            case EPOCHS -> "--epochs";
            case TOKENS -> "--tokens";
            case SEED -> "--seed";
            case DEAD_TOKENS -> "--dead-tokens";
            case LOG_EVERY -> "--log-every";
            case RESAMPLE_EVERY -> "--resample-every";
            case CHECKPOINT_EVERY -> "--checkpoint-every";
            case MAX_MEMORY -> "--max-memory";
            case THREADS -> "--threads";
            case DEVICE -> "--device";
            case OUT -> "--out";
            case RUN_NAME -> "--name";
            case RESUME -> "--resume";
            case HOOK_NAME -> "--hook-name";
            case MODEL_NAME -> "--model-name";
            case CONTEXT_SIZE -> "--context-size";
            case PREPEND_BOS -> "--prepend-bos";
            case SKIP_NONFINITE -> "--skip-nonfinite";
            case COLUMN -> "--column";
            case SHUFFLE_ROWS -> "--shuffle-rows";
            case WARMUP -> "--warmup";
            case LR_DECAY -> "--decay";
            case B_DEC_INIT -> "--b-dec-init";
            case NORMALIZE -> "--normalize";
            case AUXK_COEF -> "--auxk-coef";
            case ADAM_EPS -> "--adam-eps";
            case SAMPLE_ROWS -> "--sample-rows";
            case EXPORT_FORMAT -> "--format";
            case SYNTH_D -> "--d";
            case FEATURES -> "--features";
            case ACTIVE -> "--active";
            case SYNTH_DECAY -> "--decay";
            case SYNTH_ROWS -> "--rows";
            case ROWS_PER_SHARD -> "--rows-per-shard";
            case DTYPE -> "--dtype";
            case ANALYSIS_ROWS -> "--rows";
            case SHARDS -> "--shards";
            case DUPLICATE_COS -> "--duplicate-cos";
            case SYNTHETIC_ROWS -> "--synthetic-rows";
            case CANDIDATES -> "--candidates";
            case UNEMBED_KEY -> "--unembed-key";
            case VOCAB -> "--vocab";
            case TOKEN_SET -> "--token-set";
            case TOP_TOKENS -> "--top-tokens";
            case ALPHA -> "--alpha";
        };
    }

    /** {@code e}'s message with every setting named by its option: the line the user sees. */
    static String message(UsageException e) {
        return e.message(OptionNames::of);
    }
}
