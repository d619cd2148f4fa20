package dev.saetrain.model;

import dev.saetrain.error.UsageException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The SAE architectures sae-train can train, by their command-line names. */
public enum Architecture {
    /** TopK with AuxK on dead latents, unit-norm decoder (Gao et al. 2024, "Scaling and evaluating sparse autoencoders"). */
    TOPK("topk", "topk"),
    /** ReLU with L1 times decoder norm, Anthropic's April 2024 update ("Training SAEs", circuits updates). */
    RELU("relu", "standard"),
    // relu-2023 and tied weights (--tied, a SaeConfig flag of relu and topk)
    /**
     * ReLU with plain L1, unit-norm decoder rows and dead-latent resampling (Bricken et al. 2023, "Towards
     * Monosemanticity", section "Autoencoder training details"); SAELens loads it as a standard SAE.
     */
    RELU_2023("relu-2023", "standard"),
    /**
     * BatchTopK (Bussmann, Leask and Nanda 2024, "BatchTopK Sparse Autoencoders"): the k * batch largest
     * pre-activations of the batch, AuxK and a unit-norm decoder as topk; exported as jumprelu with the
     * estimated threshold for every latent (as SAELens does).
     */
    BATCHTOPK("batchtopk", "jumprelu"),
    /**
     * JumpReLU with an L0 penalty and a trained per-latent threshold (Rajamanoharan et al. 2024, "Jumping Ahead:
     * Improving Reconstruction Fidelity with JumpReLU Sparse Autoencoders"; Gemma Scope).
     */
    JUMPRELU("jumprelu", "jumprelu"),
    // matryoshka
    /**
     * Matryoshka BatchTopK (Bussmann, Nabeshima, Karvonen and Nanda 2025, "Learning Multi-Level Features with
     * Matryoshka Sparse Autoencoders"): batchtopk's selection, AuxK and unit-norm decoder, with the loss summed
     * over nested prefixes of the dictionary ({@link SaeConfig#groups()}); exported like batchtopk.
     */
    MATRYOSHKA("matryoshka", "jumprelu"),
    // gated
    /**
     * Gated SAE (Rajamanoharan et al. 2024, "Improving Dictionary Learning with Gated Sparse Autoencoders"): a gate
     * path 1[pi_gate > 0] picks the active latents, a magnitude path relu(pi_mag) with W_mag = W_gate * exp(r_mag)
     * sets their values; the sparsity penalty and an auxiliary reconstruction act on relu(pi_gate) only. Exported
     * as SAELens's "gated" (W_enc = W_gate, b_gate, b_mag, r_mag; no b_enc).
     */
    GATED("gated", "gated");

    private final String cliName;
    private final String saeLensName;

    Architecture(String cliName, String saeLensName) {
        this.cliName = cliName;
        this.saeLensName = saeLensName;
    }

    /** Name on the command line and in config.json. */
    public String cliName() {
        return cliName;
    }

    /** The {@code architecture} value SAELens expects in cfg.json. */
    public String saeLensName() {
        return saeLensName;
    }

    /** Whether decoder rows are kept at unit norm (gradient projected, rows renormalised after each step). */
    public boolean unitNormDecoder() {
        return this == TOPK || this == BATCHTOPK || this == RELU_2023 || this == MATRYOSHKA;
    }

    /** Whether the sparsity is set by k (TopK selection: topk, batchtopk, matryoshka) rather than a coefficient. */
    public boolean usesK() {
        return this == TOPK || this == BATCHTOPK || this == MATRYOSHKA;
    }

    /** Whether the exported SAE carries a per-latent {@code threshold} (SAELens jumprelu). */
    public boolean exportsThreshold() {
        return this == BATCHTOPK || this == JUMPRELU || this == MATRYOSHKA;
    }

    /** Whether dead latents are resampled during training (relu-2023's recipe, {@code --resample-every}). */
    public boolean resamplesDeadLatents() {
        return this == RELU_2023;
    }

    /**
     * The SAELens name of the encoder product's bias (SaeWeights.bEnc): b_enc, or b_gate for gated, whose SAELens SAE
     * has no b_enc (GatedSAE sets it to None; a b_enc tensor in the file would be an unexpected key).
     */
    public String encoderBiasName() {
        return this == GATED ? "b_gate" : "b_enc";
    }

    /** Parses a command-line name; the message lists the valid names. */
    public static Architecture parse(String name) {
        for (Architecture a : values()) {
            if (a.cliName.equals(name.toLowerCase(Locale.ROOT))) {
                return a;
            }
        }
        throw new UsageException("unknown architecture '" + name + "'; expected one of "
                + Arrays.stream(values()).map(Architecture::cliName).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return cliName;
    }
}
