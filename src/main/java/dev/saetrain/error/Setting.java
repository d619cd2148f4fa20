package dev.saetrain.error;

/**
 * A setting the user chooses, named in the domain's terms: what a {@link UsageException} blames, and what its
 * message tells the user to change. The packages that validate name a setting by its constant and never spell how
 * the user gives it; the CLI maps each constant to its command-line option ({@code cli.OptionNames}), so that its
 * one line on stderr reads {@code --k must be in [1, 64] ...}. Without the CLI a setting is named by
 * {@link #key()}, the key config.json and sweep files use for it where they record one ("k", "auxk_coef").
 *
 * <p>Constants of different commands that share a key ({@link #SYNTH_ROWS}, {@link #ANALYSIS_ROWS}) are distinct
 * settings that happen to be spelled alike.
 */
public enum Setting {
    // The SAEs of a family (model, train).
    ARCH("arch"),
    EXPANSION("expansion"),
    K("k"),
    L1("l1"),
    L0_COEF("l0_coef"),
    TIED("tied"),
    GROUPS("groups"),
    // A training run (train, data).
    BATCH("batch"),
    LR("lr"),
    EPOCHS("epochs"),
    TOKENS("tokens"),
    SEED("seed"),
    DEAD_TOKENS("dead_tokens"),
    LOG_EVERY("log_every"),
    RESAMPLE_EVERY("resample_every"),
    CHECKPOINT_EVERY("checkpoint_every"),
    MAX_MEMORY("max_memory"),
    THREADS("threads"),
    DEVICE("device"),
    OUT("out"),
    RUN_NAME("name"),
    RESUME("resume"),
    HOOK_NAME("hook_name"),
    MODEL_NAME("model_name"),
    CONTEXT_SIZE("context_size"),
    PREPEND_BOS("prepend_bos"),
    SKIP_NONFINITE("skip_nonfinite"),
    COLUMN("column"),
    SHUFFLE_ROWS("shuffle_rows"),
    // The training recipe (train.Recipe).
    WARMUP("warmup"),
    LR_DECAY("decay"),
    B_DEC_INIT("b_dec_init"),
    NORMALIZE("normalize"),
    AUXK_COEF("auxk_coef"),
    ADAM_EPS("adam_eps"),
    // inspect.
    SAMPLE_ROWS("sample_rows"),
    // export.
    EXPORT_FORMAT("format"),
    // synth: toy data with known features.
    SYNTH_D("d"),
    FEATURES("features"),
    ACTIVE("active"),
    SYNTH_DECAY("decay"),
    SYNTH_ROWS("rows"),
    ROWS_PER_SHARD("rows_per_shard"),
    DTYPE("dtype"),
    // analyze, synthetic and logit-lens.
    ANALYSIS_ROWS("rows"),
    SHARDS("shards"),
    DUPLICATE_COS("duplicate_cos"),
    SYNTHETIC_ROWS("synthetic_rows"),
    CANDIDATES("candidates"),
    UNEMBED_KEY("unembed_key"),
    VOCAB("vocab"),
    TOKEN_SET("token_set"),
    TOP_TOKENS("top_tokens"),
    ALPHA("alpha");

    private final String key;

    Setting(String key) {
        this.key = key;
    }

    /** The setting's name outside the CLI: lower case, words joined by '_', as config.json spells it. */
    public String key() {
        return key;
    }
}
