package dev.saetrain.model;

import static dev.saetrain.error.Setting.ARCH;
import static dev.saetrain.error.Setting.GROUPS;
import static dev.saetrain.error.Setting.K;
import static dev.saetrain.error.Setting.L0_COEF;
import static dev.saetrain.error.Setting.L1;
import static dev.saetrain.error.Setting.TIED;

import dev.saetrain.error.UsageException;
import java.util.ArrayList;
import java.util.List;

/**
 * The shape and sparsity settings of one SAE. Values that change during training (lr, the l1 warm-up)
 * come from the schedule, never from here.
 *
 * @param arch         architecture
 * @param dIn          width of the input activations
 * @param nLatents     dictionary size (d_sae); expansion = nLatents / dIn. A weight matrix holds dIn * nLatents
 *                     elements, which may pass 2^31 - 1 (the host holds it in pages, {@link
 *                     dev.saetrain.io.HostMatrix}; devices use 64-bit offsets); whether it fits the machine is
 *                     the memory plan's question
 * @param k            active latents per row for topk; mean active latents per row for batchtopk and matryoshka
 *                     (k * batch are kept over the batch); ignored by relu, gated and jumprelu
 * @param l1           sparsity coefficient lambda (final value after warm-up): relu's and gated's L1 coefficient,
 *                     jumprelu's L0 coefficient; ignored by topk, batchtopk and matryoshka
 * @param applyBDecToInput whether the encoder sees x - b_dec (SAELens {@code apply_b_dec_to_input})
 * @param tied         W_enc = W_dec^T, one matrix with unit-norm rows (Cunningham et al. 2023, "Sparse Autoencoders
 *                     Find Highly Interpretable Features in Language Models"); relu and topk only
 * @param groups       matryoshka only (empty otherwise): the sizes of the consecutive latent groups, each >= 1,
 *                     summing to nLatents; prefix j is latents [0, groups[0] + ... + groups[j]) and each prefix
 *                     reconstructs the input on its own (Bussmann et al. 2025). Left empty for matryoshka, it becomes
 *                     {@link #defaultGroups}; an unmodifiable list
 */
public record SaeConfig(Architecture arch, int dIn, int nLatents, int k, double l1, boolean applyBDecToInput,
                        boolean tied, List<Integer> groups) {
    /**
     * BatchTopK's inference threshold is an exponential moving average, at this rate per step, of the smallest
     * activation kept in each batch (Bussmann et al. 2024 estimate theta as the mean of that minimum over
     * batches; 0.01 is SAELens's {@code topk_threshold_lr}). The first batch sets it directly.
     */
    public static final double BATCHTOPK_THRESHOLD_RATE = 0.01;

    /** An untied SAE. */
    public SaeConfig(Architecture arch, int dIn, int nLatents, int k, double l1, boolean applyBDecToInput) {
        this(arch, dIn, nLatents, k, l1, applyBDecToInput, false);
    }

    /** An SAE without matryoshka groups (matryoshka: the {@link #defaultGroups}). */
    public SaeConfig(Architecture arch, int dIn, int nLatents, int k, double l1, boolean applyBDecToInput,
                     boolean tied) {
        this(arch, dIn, nLatents, k, l1, applyBDecToInput, tied, List.of());
    }

    public SaeConfig {
        if (arch == null) {
            throw new IllegalArgumentException("architecture is required");
        }
        if (dIn < 1) {
            throw new UsageException("d_in must be >= 1, got " + dIn);
        }
        if (nLatents < 1) {
            throw new UsageException("the SAE needs at least one latent, got " + nLatents);
        }
        if (arch.usesK()
                && (k < 1 || k > nLatents)) {
            throw new UsageException(K, "must be in [1, " + nLatents + "] for " + nLatents
                    + " latents, got " + k);
        }
        if ((arch == Architecture.RELU || arch == Architecture.RELU_2023 || arch == Architecture.GATED)
                && !(l1 >= 0 && Double.isFinite(l1))) {
            throw new UsageException(L1, "must be a finite number >= 0, got " + l1);
        }
        if (tied && arch != Architecture.RELU && arch != Architecture.TOPK) {
            throw new UsageException(TIED, "works with ", ARCH, " relu or topk, not " + arch.cliName()
                    + "; drop ", TIED, " or pick one of those");
        }
        if (arch == Architecture.JUMPRELU && !(l1 >= 0 && Double.isFinite(l1))) {
            throw new UsageException(L0_COEF, "must be a finite number >= 0, got " + l1);
        }
        groups = groups == null ? List.of() : List.copyOf(groups);
        if (arch != Architecture.MATRYOSHKA && !groups.isEmpty()) {
            throw new UsageException(GROUPS, "works with ", ARCH, " matryoshka, not " + arch.cliName()
                    + "; drop ", GROUPS, " or use ", ARCH, " matryoshka");
        }
        if (arch == Architecture.MATRYOSHKA) {
            groups = groups.isEmpty() ? defaultGroups(nLatents) : groups;
            long sum = 0;
            for (int g : groups) {
                if (g < 1) {
                    throw new UsageException(GROUPS, "sizes must be >= 1 latent each, got " + groups);
                }
                sum += g;
            }
            if (sum != nLatents) {
                throw new UsageException(GROUPS, groups + " sum to " + sum + " latents, but the SAE has "
                        + nLatents + " (expansion " + nLatents / dIn + " x d_in " + dIn + "); give sizes that add up to "
                        + nLatents + ", or leave ", GROUPS, " out for the default " + defaultGroups(nLatents));
            }
        }
    }

    /**
     * The default matryoshka groups: prefixes of m/16, m/8, m/4, m/2 and m latents (rounded down; prefixes under
     * one latent dropped), i.e. groups m/16, m/16, m/8, m/4, m/2 as in Bussmann et al.'s reference training script
     * (github.com/bartbussmann/matryoshka_sae, main.py).
     */
    public static List<Integer> defaultGroups(int nLatents) {
        List<Integer> out = new ArrayList<>();
        int prev = 0;
        for (int shift = 4; shift >= 0; shift--) {
            int prefix = nLatents >> shift;
            if (prefix > prev) {
                out.add(prefix - prev);
                prev = prefix;
            }
        }
        return List.copyOf(out);
    }

    /** Matryoshka: the prefix ends [groups], groupEnds[j] = groups[0] + ... + groups[j] (the last is nLatents). */
    public int[] groupEnds() {
        int[] ends = new int[groups.size()];
        int s = 0;
        for (int j = 0; j < ends.length; j++) {
            s += groups.get(j);
            ends[j] = s;
        }
        return ends;
    }

    /**
     * An SAE of {@code arch} with nLatents = expansion * dIn: k for the TopK family ({@link Architecture#usesK}),
     * the sparsity coefficient {@code coef} (lambda: L1, L0 for jumprelu) for the others; the unused one is 0.
     */
    public static SaeConfig of(Architecture arch, int dIn, int expansion, int k, double coef) {
        return new SaeConfig(arch, dIn, Math.multiplyExact(dIn, expansion), arch.usesK() ? k : 0,
                arch.usesK() ? 0 : coef, true);
    }

    /** A topk SAE with nLatents = expansion * dIn. */
    public static SaeConfig topk(int dIn, int expansion, int k) {
        return of(Architecture.TOPK, dIn, expansion, k, 0);
    }

    /** A relu SAE (April 2024 recipe) with nLatents = expansion * dIn. */
    public static SaeConfig relu(int dIn, int expansion, double l1) {
        return of(Architecture.RELU, dIn, expansion, 0, l1);
    }

    /** A relu-2023 SAE (Towards Monosemanticity: plain L1, unit-norm decoder, resampling). */
    public static SaeConfig relu2023(int dIn, int expansion, double l1) {
        return of(Architecture.RELU_2023, dIn, expansion, 0, l1);
    }

    /** A batchtopk SAE (Bussmann et al. 2024) keeping k * batch latents per batch, nLatents = expansion * dIn. */
    public static SaeConfig batchTopk(int dIn, int expansion, int k) {
        return of(Architecture.BATCHTOPK, dIn, expansion, k, 0);
    }

    /**
     * A matryoshka SAE (Bussmann et al. 2025) keeping k * batch latents per batch, nLatents = expansion * dIn, with the
     * {@link #defaultGroups}.
     */
    public static SaeConfig matryoshka(int dIn, int expansion, int k) {
        return of(Architecture.MATRYOSHKA, dIn, expansion, k, 0);
    }

    /** A jumprelu SAE (Rajamanoharan et al. 2024) with L0 coefficient l0Coef, nLatents = expansion * dIn. */
    public static SaeConfig jumpRelu(int dIn, int expansion, double l0Coef) {
        return of(Architecture.JUMPRELU, dIn, expansion, 0, l0Coef);
    }

    /** A gated SAE (Rajamanoharan et al. 2024) with sparsity coefficient l1, nLatents = expansion * dIn. */
    public static SaeConfig gated(int dIn, int expansion, double l1) {
        return of(Architecture.GATED, dIn, expansion, 0, l1);
    }

    /**
     * The JumpReLU kernel bandwidth eps and initial threshold, in our input units. Rajamanoharan et al. 2024 and
     * Gemma Scope use 0.001 for both with inputs normalised to unit mean squared norm; ours are scaled to
     * E|x| = sqrt(d) (docs/design.md, "The training step"), and pre-activations scale with the input, so the
     * same values here are 0.001 * sqrt(d) (0.008 at d = 64, 0.048 at d = 2304).
     */
    public double jumpReluBandwidth() {
        return 0.001 * Math.sqrt(dIn);
    }

    /**
     * Whether decoder rows are held at unit norm (gradient component along each row removed before the step,
     * rows renormalised after): topk (Gao et al. 2024), batchtopk, relu-2023 (Towards Monosemanticity), and
     * every tied SAE (Cunningham et al. 2023).
     */
    public boolean unitNormDecoder() {
        return arch.unitNormDecoder() || tied;
    }

    /** nLatents / dIn, rounded down. */
    public int expansion() {
        return nLatents / dIn;
    }

    /**
     * The folder name of this SAE in a run: x16-k32, x16-l1_5.0, x16-k32-tied, x16-btk32 (batchtopk), x16-jr0.01
     * (jumprelu), x16-mk32 (matryoshka; its groups are in cfg.json), x16-g5.0 (gated).
     */
    public String name() {
        String x = nLatents % dIn == 0 ? "x" + expansion() : "m" + nLatents;
        String base = switch (arch) {
            case TOPK -> x + "-k" + k;
            case RELU, RELU_2023 -> x + "-l1_" + l1;
            case BATCHTOPK -> x + "-btk" + k;
            case JUMPRELU -> x + "-jr" + l1;
            case MATRYOSHKA -> x + "-mk" + k;
            case GATED -> x + "-g" + l1;
        };
        return tied ? base + "-tied" : base;
    }

    /**
     * Default learning rate: 2e-4 / sqrt(m / 2^14) for topk and batchtopk (Gao et al. 2024's rule, which
     * Bussmann et al. 2024 follow for BatchTopK, and matryoshka as a BatchTopK variant) and for jumprelu (the rule
     * gives Gemma Scope's 7e-5 at its 131k-latent width, Lieberum et al. 2024; narrower dictionaries learn at a topk's
     * pace, measured in docs/performance.md, "Architectures at matched L0"; the threshold takes a faster LR on
     * short runs, {@link dev.saetrain.train.Schedule#thresholdLrFactor}), 5e-5 for relu (Anthropic April 2024) and
     * relu-2023 (its loss equals relu's when decoder rows have unit norm), 3e-4 for gated (its authors' LR for every
     * Gated SAE of the paper: Nanda, comment on the paper's LessWrong post, 2024).
     */
    public double defaultLr() {
        return switch (arch) {
            case TOPK, BATCHTOPK, MATRYOSHKA, JUMPRELU -> 2e-4 / Math.sqrt(nLatents / 16384.0);
            case RELU, RELU_2023 -> 5e-5;
            case GATED -> 3e-4;
        };
    }

    /** AuxK's k: d_in / 2 latents (Gao et al. 2024, appendix A.2), at most nLatents. */
    public int kAux() {
        return Math.max(1, Math.min(nLatents, dIn / 2));
    }

    /** A copy with n latents; matryoshka groups go back to the default for n. */
    public SaeConfig withNLatents(int n) {
        return new SaeConfig(arch, dIn, n, k, l1, applyBDecToInput, tied);
    }

    public SaeConfig withK(int newK) {
        return new SaeConfig(arch, dIn, nLatents, newK, l1, applyBDecToInput, tied, groups);
    }

    /** A copy whose encoder sees x - b_dec (true) or x (false). */
    public SaeConfig withApplyBDecToInput(boolean apply) {
        return new SaeConfig(arch, dIn, nLatents, k, l1, apply, tied, groups);
    }

    public SaeConfig withTied(boolean t) {
        return new SaeConfig(arch, dIn, nLatents, k, l1, applyBDecToInput, t, groups);
    }

    /** A copy with these matryoshka group sizes (null or empty: the default). */
    public SaeConfig withGroups(List<Integer> g) {
        return new SaeConfig(arch, dIn, nLatents, k, l1, applyBDecToInput, tied, g);
    }
}
