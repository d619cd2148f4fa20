package dev.saetrain.train;

import static dev.saetrain.error.Setting.ADAM_EPS;
import static dev.saetrain.error.Setting.AUXK_COEF;
import static dev.saetrain.error.Setting.B_DEC_INIT;
import static dev.saetrain.error.Setting.LR_DECAY;
import static dev.saetrain.error.Setting.NORMALIZE;
import static dev.saetrain.error.Setting.WARMUP;

import dev.saetrain.error.UsageException;
import dev.saetrain.model.Architecture;
import java.util.Arrays;
import java.util.Locale;

/**
 * The parts of the training recipe a run may change for an ablation: LR warm-up
 * and decay, b_dec's start, the input normalisation, AuxK's weight and Adam's epsilon. {@link #DEFAULT} is what a run
 * gets when it leaves them out; {@link #ORIGINAL} is the recipe every run used before these were options (and what a
 * run from then resumes with).
 *
 * <p>Why the default has no LR warm-up and no decay: on real activations (docs/performance.md, "Quality per token")
 * the linear decay over the last 20 % cost the most held-out FVU of the recipe's pieces in short runs (it gives up a
 * tenth of the LR's integral while the dictionary is still far from converged), the warm-up the second most; b_dec's
 * start, the input scaling, AuxK's weight (no latent is dead before 10M tokens) and Adam's epsilon moved topk's FVU by
 * less than the noise between seeds. b_dec's start is per architecture ({@link BDecInit#AUTO}): relu's from zero
 * reaches a lower FVU at a lower L0 than from the geometric median.
 *
 * @param warmup    LR warm-up length ({@code --warmup})
 * @param decay     fraction of the run over which the LR decays linearly to 0 at the end, in [0, 1]; 0: constant
 *                  ({@code --decay})
 * @param bDecInit  b_dec's initial value ({@code --b-dec-init})
 * @param normalize input scaling ({@code --normalize})
 * @param auxkCoef  weight of the AuxK loss (topk, batchtopk, matryoshka), finite and >= 0 ({@code --auxk-coef})
 * @param adamEps   Adam's epsilon, finite and > 0 ({@code --adam-eps}); used as fp32
 */
public record Recipe(Warmup warmup, double decay, BDecInit bDecInit, Normalize normalize, double auxkCoef,
                     double adamEps) {
    /** The default: constant LR (no warm-up, no decay), b_dec per architecture, sqrt-d, AuxK 1/32, epsilon 1e-8. */
    public static final Recipe DEFAULT = new Recipe(Warmup.NONE, 0, BDecInit.AUTO, Normalize.SQRT_D, 1.0 / 32, 1e-8);

    /**
     * The recipe of every run before these were options: warm-up min(1000 steps, 5 %), decay over the last 20 %,
     * median, sqrt-d, 1/32, 1e-8. A run whose config.json records no recipe resumes with it.
     */
    public static final Recipe ORIGINAL = new Recipe(Warmup.AUTO, 0.2, BDecInit.MEDIAN, Normalize.SQRT_D,
            1.0 / 32, 1e-8);

    public Recipe {
        if (warmup == null || bDecInit == null || normalize == null) {
            throw new IllegalArgumentException("warmup, bDecInit and normalize must be given (null)");
        }
        if (!(decay >= 0 && decay <= 1)) {
            throw new UsageException(LR_DECAY, "must be a fraction of the run in [0, 1] (0: constant LR), got "
                    + decay);
        }
        if (!(auxkCoef >= 0) || !Double.isFinite(auxkCoef)) {
            throw new UsageException(AUXK_COEF, "must be a finite number >= 0 (0: no AuxK), got " + auxkCoef);
        }
        if (!(adamEps > 0) || !Double.isFinite(adamEps) || !((float) adamEps > 0)) {
            throw new UsageException(ADAM_EPS, "must be a finite number > 0 that fp32 can hold (e.g. 1e-8), got "
                    + adamEps);
        }
    }

    public Recipe withWarmup(Warmup w) {
        return new Recipe(w, decay, bDecInit, normalize, auxkCoef, adamEps);
    }

    public Recipe withDecay(double f) {
        return new Recipe(warmup, f, bDecInit, normalize, auxkCoef, adamEps);
    }

    public Recipe withBDecInit(BDecInit b) {
        return new Recipe(warmup, decay, b, normalize, auxkCoef, adamEps);
    }

    public Recipe withNormalize(Normalize n) {
        return new Recipe(warmup, decay, bDecInit, n, auxkCoef, adamEps);
    }

    public Recipe withAuxkCoef(double c) {
        return new Recipe(warmup, decay, bDecInit, normalize, c, adamEps);
    }

    public Recipe withAdamEps(double e) {
        return new Recipe(warmup, decay, bDecInit, normalize, auxkCoef, e);
    }

    /**
     * LR warm-up length: {@link #AUTO} (min(1000 steps, 5 % of the run), the original recipe's), a number of steps
     * ({@code fraction} NaN), or a fraction of the run ({@code steps} -1).
     *
     * @param steps    warm-up steps (>= 0), or -1 when given as a fraction or auto
     * @param fraction warm-up as a fraction of the run in (0, 1), or NaN when given in steps or auto
     */
    public record Warmup(long steps, double fraction) {
        public static final Warmup AUTO = new Warmup(-1, Double.NaN);
        /** No warm-up (the default). */
        public static final Warmup NONE = new Warmup(0, Double.NaN);

        public Warmup {
            boolean auto = steps == -1 && Double.isNaN(fraction);
            boolean inSteps = steps >= 0 && Double.isNaN(fraction);
            boolean asFraction = steps == -1 && fraction > 0 && fraction < 1;
            if (!auto && !inSteps && !asFraction) {
                throw new UsageException(WARMUP, "must be whole steps >= 0 (e.g. 500) or a fraction of the "
                        + "run 0 < F < 1 (e.g. 0.05), got " + (Double.isNaN(fraction) ? steps : fraction));
            }
        }

        /** "auto", whole steps ("500") or a fraction with a decimal point ("0.05"); anything else is refused. */
        public static Warmup parse(String text) {
            String t = text == null ? "" : text.trim();
            if (t.equals("auto")) {
                return AUTO;
            }
            if (t.matches("\\d+")) {
                try {
                    return new Warmup(Long.parseLong(t), Double.NaN);
                } catch (NumberFormatException e) {
                    throw new UsageException(WARMUP, t + " steps is too large").because(e);
                }
            }
            if (t.matches("\\d*\\.\\d+([eE][-+]?\\d+)?|\\d+[eE]-\\d+")) {
                double f = Double.parseDouble(t);
                if (f > 0 && f < 1) {
                    return new Warmup(-1, f);
                }
            }
            throw new UsageException(WARMUP, "must be auto, whole steps >= 0 (e.g. 500) or a fraction of "
                    + "the run 0 < F < 1 (e.g. 0.05), got '" + TrainOptions.printable(text) + "'");
        }

        /** Warm-up steps of a run of {@code totalSteps} steps. */
        public long stepsFor(long totalSteps) {
            if (steps >= 0) {
                return steps;
            }
            if (!Double.isNaN(fraction)) {
                return (long) Math.floor(totalSteps * fraction);
            }
            return Math.min(1000, totalSteps / 20);
        }

        /** The text {@link #parse} reads back: "auto", "500" or "0.05". */
        public String text() {
            if (steps >= 0) {
                return Long.toString(steps);
            }
            return Double.isNaN(fraction) ? "auto" : Double.toString(fraction);
        }
    }

    /** b_dec's initial value, computed on the first {@link Trainer#INIT_ROWS} rows (scaled). */
    public enum BDecInit {
        /**
         * Per architecture (the default, {@link #resolve}): zero for relu, the geometric median for the others.
         * relu is Anthropic's April 2024 recipe, whose model has b_dec start at zero (SAELens trains it so:
         * {@code b_dec_init_method="zeros"}); measured on real activations (docs/performance.md, "Quality per token")
         * it ends at a lower FVU and a lower L0 from zero than from the median. The median is Gao et al. 2024's start
         * (after Bricken et al. 2023), for topk and the architectures built on it, and relu-2023's own.
         */
        AUTO,
        /** Geometric median (Weiszfeld), Gao et al. 2024. */
        MEDIAN,
        /** Arithmetic mean. */
        MEAN,
        /** Zero. */
        ZERO;

        public String cliName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The start an SAE of {@code arch} gets: {@link #AUTO}'s choice for it, otherwise this one. */
        public BDecInit resolve(Architecture arch) {
            if (this != AUTO) {
                return this;
            }
            return arch == Architecture.RELU ? ZERO : MEDIAN;
        }

        public static BDecInit parse(String text) {
            return Arrays.stream(values()).filter(v -> v.cliName().equals(text)).findFirst().orElseThrow(
                    () -> new UsageException(B_DEC_INIT, "must be auto, median, mean or zero, got '"
                            + TrainOptions.printable(text) + "'"));
        }
    }

    /** How inputs are scaled before training; the factor is folded into the exported weights. */
    public enum Normalize {
        /** Scale so that E|x| = sqrt(d) on the first rows (the default). */
        SQRT_D("sqrt-d"),
        /** Raw activations: scale 1. */
        NONE("none");

        private final String cliName;

        Normalize(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }

        public static Normalize parse(String text) {
            return Arrays.stream(values()).filter(v -> v.cliName.equals(text)).findFirst().orElseThrow(
                    () -> new UsageException(NORMALIZE, "must be sqrt-d or none, got '"
                            + TrainOptions.printable(text) + "'"));
        }
    }
}
