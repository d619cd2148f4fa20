package dev.saetrain.selftest;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.Philox;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.train.Engine;
import dev.saetrain.train.StepStats;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One training step of an architecture on two devices from the same seed, initial weights and batch (d = 64,
 * x4, k = 8, batch 512): the same loss and the same parameters and Adam state, within tolerances that account
 * for TF32 in the encoder product. Run by CudaStepParityTest (CUDA against the CPU) and by {@code sae-train
 * selftest} (the chosen device against the CPU; for the CPU, 1 thread against several).
 *
 * <p>Stated tolerances, per state array (parameters, adam_m, adam_v) compared as relative L2 distances
 * |got - want| / |want|: the parameter update (p1 - p0) within {@value #UPDATE_TOL}, the moments within
 * {@value #MOMENT_TOL}; the loss (mse) within {@value #MSE_RTOL} relative. Why so loose: TF32 moves
 * pre-activations by ~1e-3 relative, which flips a few TopK selections at near-ties (whole gradient rows then
 * differ) and the sign of near-zero gradients, and Adam's first step is lr * sign(g) whatever |g| is. A wrong op
 * (a missing term, a wrong row, a skipped update) moves these distances to about 1 or more.
 */
public final class StepParity {
    public static final double UPDATE_TOL = 0.25;
    public static final double MOMENT_TOL = 0.1;
    public static final double MSE_RTOL = 1e-3;
    private static final int D = 64;
    private static final int BATCH = 512;

    /** Every architecture the trainer has, tied variants included, as "arch" or "arch tied". */
    public static final List<String> ARCHITECTURES = List.of("topk", "batchtopk", "relu", "relu-2023", "jumprelu",
            "gated", "matryoshka", "topk tied", "relu tied");

    /**
     * The outcome: mse of both, and the worst state array (largest distance over its tolerance) with its distance
     * and tolerance; {@code failure} is set when the step threw or the state arrays do not match in name or size.
     */
    public record Outcome(String arch, double mseWant, double mseGot, String worstName, double worstDist,
                          double worstTol, String failure) {
        public boolean passed() {
            return failure == null && Math.abs(mseGot - mseWant) <= MSE_RTOL * Math.abs(mseWant)
                    && worstDist <= worstTol;
        }

        public double mseRelErr() {
            return Math.abs(mseGot - mseWant) / Math.abs(mseWant);
        }
    }

    private record Run(Map<String, float[]> before, Map<String, float[]> after, double mse) {
    }

    private StepParity() {
    }

    /** The config of {@code label} ("relu", "topk tied", ...) at the step parity's size. */
    public static SaeConfig config(String label) {
        String[] parts = label.split(" ");
        return SaeConfig.of(Architecture.parse(parts[0]), D, 4, 8, 1.0).withTied(parts.length > 1);
    }

    /** One step of {@code label} on {@code want} and on {@code got} (each opened here and closed after). */
    public static Outcome compare(String label, Supplier<Device> want, Supplier<Device> got) {
        SaeConfig cfg = config(label);
        float[] x = new float[BATCH * D];
        Philox.fillNormal(11, 3, x);
        Run w = oneStep(want.get(), cfg, x);
        Run g;
        try {
            g = oneStep(got.get(), cfg, x);
        } catch (RuntimeException e) {
            return new Outcome(label, w.mse(), Double.NaN, "", Double.NaN, 0, e.getClass().getSimpleName() + ": "
                    + e.getMessage());
        }
        if (!w.after().keySet().equals(g.after().keySet())) {
            return new Outcome(label, w.mse(), g.mse(), "", Double.NaN, 0, "state arrays differ: "
                    + w.after().keySet() + " vs " + g.after().keySet());
        }
        String worstName = "";
        double worstDist = 0;
        double worstTol = UPDATE_TOL;
        for (var entry : w.after().entrySet()) {
            String name = entry.getKey();
            float[] a = entry.getValue();
            float[] b = g.after().get(name);
            if (a.length != b.length) {
                return new Outcome(label, w.mse(), g.mse(), name, Double.NaN, 0, name + ": " + b.length
                        + " values, expected " + a.length);
            }
            boolean moment = name.endsWith(".adam_m") || name.endsWith(".adam_v");
            double tol = moment ? MOMENT_TOL : UPDATE_TOL;
            double dist = moment ? relL2(a, b, null) : relL2(a, b, w.before().get(name));
            if (!(dist / tol <= worstDist / worstTol)) {
                worstName = moment ? name : name + " (update)";
                worstDist = dist;
                worstTol = tol;
            }
        }
        return new Outcome(label, w.mse(), g.mse(), worstName, worstDist, worstTol, null);
    }

    private static Run oneStep(Device dev, SaeConfig cfg, float[] x) {
        try (dev; Engine e = new Engine(dev, SaeInit.initial(cfg, 7, new float[D]), BATCH, 10_000_000L);
             FloatBuf xb = dev.allocFloat(x.length)) {
            dev.upload(x, 0, xb, 0, x.length);
            Map<String, float[]> before = e.snapshot().floats();
            StepStats st = e.step(xb, 1e-3, cfg.l1());
            dev.synchronize();
            return new Run(before, e.snapshot().floats(), st.mse());
        }
    }

    /** |got - want| / |want|, of the differences from {@code base} when it is given (NaN counts as infinitely far). */
    static double relL2(float[] want, float[] got, float[] base) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < want.length; i++) {
            double w = want[i] - (base == null ? 0 : base[i]);
            double g = got[i] - (base == null ? 0 : base[i]);
            num += (w - g) * (w - g);
            den += w * w;
        }
        double r = den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
        return Double.isNaN(r) ? Double.POSITIVE_INFINITY : r;
    }
}
