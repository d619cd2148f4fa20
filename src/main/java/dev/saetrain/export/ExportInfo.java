package dev.saetrain.export;

/**
 * What a SAELens {@code cfg.json} needs beyond the {@link dev.saetrain.model.SaeConfig}: where the activations
 * came from and how the dictionary was trained. sae-train reads cached activations, so the model, hook and
 * dataset are only known when the user says so; unknown strings are {@value #UNKNOWN}, unknown numbers null.
 *
 * @param hookName        TransformerLens hook the activations were cached at, e.g. {@code blocks.0.hook_resid_post}
 *                        (SAELens {@code metadata.hook_name}); {@value #UNKNOWN} if not given
 * @param modelName       model the activations came from (SAELens {@code metadata.model_name})
 * @param datasetPath     the shard directory or dataset the activations were read from
 *                        (SAELens {@code metadata.dataset_path})
 * @param contextSize     tokens per sequence when the activations were cached, or null if unknown
 *                        (SAELens {@code metadata.context_size})
 * @param prependBos      whether a BOS token was prepended when caching, or null if unknown
 *                        (SAELens {@code metadata.prepend_bos})
 * @param trainingTokens  activation rows the SAE was trained on, >= 0
 * @param foldedScale     the input normalisation factor c (x_train = c * x_raw) that was folded into the
 *                        weights before export; 1 if inputs were not scaled. Finite and > 0.
 * @param runName         the run id, e.g. the {@code runs/<run-id>} folder name
 * @param saeTrainVersion sae-train version that wrote the files ("dev" when run from classes)
 * @param training        the schedule and recipe the SAE was trained with ({@code metadata.sae_train}), or null when
 *                        not known (a dictionary written outside a training run)
 */
public record ExportInfo(String hookName, String modelName, String datasetPath, Integer contextSize,
                         Boolean prependBos, long trainingTokens, double foldedScale, String runName,
                         String saeTrainVersion, Training training) {
    /**
     * How the SAE was trained, recorded so that an ablation's dictionaries say what they ablated.
     *
     * @param lr               peak learning rate
     * @param lrWarmupSteps    steps of linear LR warm-up
     * @param lrDecayFraction  fraction of the run over which the LR decayed linearly to 0 (0: constant)
     * @param l1WarmupFraction fraction of the run over which the sparsity coefficient warmed up
     * @param bDecInit         b_dec's start: "median", "mean" or "zero"
     * @param normalize        input scaling: "sqrt-d" (E|x| = sqrt(d)) or "none"
     * @param auxkCoef         AuxK coefficient (topk, batchtopk, matryoshka)
     * @param adamEps          Adam's epsilon
     * @param thresholdLrFactor the factor on the LR for jumprelu's log threshold (1 for the others)
     */
    public record Training(double lr, long lrWarmupSteps, double lrDecayFraction, double l1WarmupFraction,
                           String bDecInit, String normalize, double auxkCoef, double adamEps,
                           double thresholdLrFactor) {
        public Training {
            requireText("b_dec init", bDecInit);
            requireText("normalize", normalize);
        }
    }

    /** The value written for a string field the user did not give. */
    public static final String UNKNOWN = "unknown";

    public ExportInfo {
        requireText("hook name", hookName);
        requireText("model name", modelName);
        requireText("dataset path", datasetPath);
        requireText("run name", runName);
        requireText("sae-train version", saeTrainVersion);
        if (contextSize != null && contextSize < 1) {
            throw new IllegalArgumentException("context size must be >= 1 when given, got " + contextSize
                    + "; leave it out if unknown");
        }
        if (trainingTokens < 0) {
            throw new IllegalArgumentException("training tokens must be >= 0, got " + trainingTokens);
        }
        if (!(foldedScale > 0) || !Double.isFinite(foldedScale)) {
            throw new IllegalArgumentException("the folded normalisation scale must be finite and > 0, got "
                    + foldedScale + "; use 1 when inputs were not scaled");
        }
    }

    /** Info with only what sae-train always knows; model, hook and dataset are {@value #UNKNOWN}. */
    public static ExportInfo minimal(String runName, String saeTrainVersion, long trainingTokens, double foldedScale) {
        return new ExportInfo(UNKNOWN, UNKNOWN, UNKNOWN, null, null, trainingTokens, foldedScale, runName,
                saeTrainVersion, null);
    }

    public ExportInfo withHookName(String name) {
        return new ExportInfo(name, modelName, datasetPath, contextSize, prependBos, trainingTokens, foldedScale,
                runName, saeTrainVersion, training);
    }

    public ExportInfo withModelName(String name) {
        return new ExportInfo(hookName, name, datasetPath, contextSize, prependBos, trainingTokens, foldedScale,
                runName, saeTrainVersion, training);
    }

    public ExportInfo withDatasetPath(String path) {
        return new ExportInfo(hookName, modelName, path, contextSize, prependBos, trainingTokens, foldedScale,
                runName, saeTrainVersion, training);
    }

    public ExportInfo withContextSize(Integer size) {
        return new ExportInfo(hookName, modelName, datasetPath, size, prependBos, trainingTokens, foldedScale,
                runName, saeTrainVersion, training);
    }

    public ExportInfo withPrependBos(Boolean bos) {
        return new ExportInfo(hookName, modelName, datasetPath, contextSize, bos, trainingTokens, foldedScale,
                runName, saeTrainVersion, training);
    }

    public ExportInfo withTraining(Training t) {
        return new ExportInfo(hookName, modelName, datasetPath, contextSize, prependBos, trainingTokens, foldedScale,
                runName, saeTrainVersion, t);
    }

    private static void requireText(String what, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(what + " must not be empty; use \"" + UNKNOWN + "\" if it is not known");
        }
    }
}
