package dev.saetrain.selftest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.io.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What {@code sae-train selftest} found, printed as it goes (one line per check: PASS / FAIL / INFO / NOTE and the
 * numbers) and kept as JSON for {@code --json FILE}: environment, ops, step parity, end-to-end, bench. The run
 * passes when no line is FAIL.
 */
public final class SelftestReport {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final PrintWriter out;
    private final ObjectNode root = JSON.createObjectNode();
    private final ObjectNode env = root.putObject("environment");
    private final ArrayNode ops = root.putArray("ops");
    private final ArrayNode notCompared = root.putArray("not_compared");
    private final ArrayNode steps = root.putArray("step_parity");
    private final ArrayNode bench = root.putArray("bench");
    private int passed;
    private int failed;

    public SelftestReport(PrintWriter out, String device, boolean quick) {
        this.out = out;
        root.put("device", device);
        root.put("quick", quick);
    }

    /** Formats a number for the table: 3 significant digits. */
    public static String num(double v) {
        return Double.isNaN(v) ? "NaN" : String.format(Locale.ROOT, "%.3g", v);
    }

    /** A section heading (what is compared against what). */
    public void section(String key, String text) {
        root.put(key + "_against", text);
        out.println();
        out.println(key + ": " + text);
        out.flush();
    }

    public void env(String key, String value) {
        env.put(key, value);
        out.printf(Locale.ROOT, "env   %-12s %s%n", key, value);
        out.flush();
    }

    public void op(OpRunner.OpResult r) {
        ObjectNode o = ops.addObject();
        o.put("name", r.op());
        o.put("status", r.passed() ? "PASS" : "FAIL");
        o.put("shape", r.shape());
        o.put("comparisons", r.comparisons());
        String text;
        if (r.worst() != null) {
            o.put("worst_err", r.worst().worstErr());
            o.put("tolerance", r.worst().tolAtWorst());
            o.put("worst_in", r.worst().name());
            text = "worst err " + num(r.worst().worstErr()) + " (tol " + num(r.worst().tolAtWorst()) + ", "
                    + r.worst().name() + ")  " + r.comparisons() + " comparisons";
        } else {
            text = "";
        }
        if (r.failure() != null) {
            o.put("detail", r.failure());
            text = r.failure();
        }
        line(r.passed(), r.op(), r.shape() + "  " + text);
    }

    public void notCompared(String op, String reason) {
        ObjectNode o = notCompared.addObject();
        o.put("name", op);
        o.put("reason", reason);
        out.printf(Locale.ROOT, "NOTE  %-26s not compared: %s%n", op, reason);
    }

    public void step(StepParity.Outcome s) {
        ObjectNode o = steps.addObject();
        o.put("arch", s.arch());
        o.put("status", s.passed() ? "PASS" : "FAIL");
        o.put("mse_want", s.mseWant());
        o.put("mse_got", s.mseGot());
        o.put("mse_rel_err", s.mseRelErr());
        o.put("mse_tolerance", StepParity.MSE_RTOL);
        o.put("worst_array", s.worstName());
        o.put("worst_rel_l2", s.worstDist());
        o.put("worst_tolerance", s.worstTol());
        String text = s.failure() != null ? s.failure() : "mse rel err " + num(s.mseRelErr()) + " (tol "
                + num(StepParity.MSE_RTOL) + ")  worst " + s.worstName() + " rel L2 " + num(s.worstDist()) + " (tol "
                + num(s.worstTol()) + ")";
        if (s.failure() != null) {
            o.put("detail", s.failure());
        }
        line(s.passed(), "step " + s.arch(), text);
    }

    /** The end-to-end run's numbers (null values when it did not finish). */
    public void e2e(boolean ok, double fvu, double l0, double meanMaxCos, double fraction, double seconds,
                    String failure, String bar) {
        ObjectNode o = root.putObject("e2e");
        o.put("status", ok ? "PASS" : "FAIL");
        o.put("fvu", fvu);
        o.put("l0", l0);
        o.put("mean_max_cos", meanMaxCos);
        o.put("fraction_recovered_0.9", fraction);
        o.put("seconds", seconds);
        o.put("bar", bar);
        if (failure != null) {
            o.put("detail", failure);
        }
        line(ok, "e2e topk", failure != null ? failure : "FVU " + num(fvu) + "  L0 " + num(l0) + "  recovered "
                + num(100 * fraction) + " % of features at cos >= 0.9  mean max cos " + num(meanMaxCos) + "  ("
                + bar + ", " + num(seconds) + " s)");
    }

    /** One bench line; informational unless the step threw ({@code failure} set). */
    public void bench(String arch, String size, double tokensPerS, double gemmTflops, String failure) {
        ObjectNode o = bench.addObject();
        o.put("arch", arch);
        o.put("size", size);
        o.put("status", failure == null ? "INFO" : "FAIL");
        o.put("tokens_per_s", tokensPerS);
        o.put("gemm_tflops", gemmTflops);
        if (failure != null) {
            o.put("detail", failure);
            line(false, "bench " + arch, failure);
            return;
        }
        out.printf(Locale.ROOT, "INFO  %-26s %.0f tokens/s  encoder product %s TFLOP/s  [%s]%n", "bench " + arch,
                tokensPerS, num(gemmTflops), size);
        out.flush();
    }

    /** A check that is neither an op nor a step: PASS or FAIL with its text. */
    public void check(boolean ok, String name, String text) {
        root.withArray("other").addObject().put("name", name).put("status", ok ? "PASS" : "FAIL").put("detail", text);
        line(ok, name, text);
    }

    private void line(boolean ok, String name, String text) {
        if (ok) {
            passed++;
        } else {
            failed++;
        }
        out.printf(Locale.ROOT, "%s  %-26s %s%n", ok ? "PASS" : "FAIL", name, text);
        out.flush();
    }

    public boolean passed() {
        return failed == 0;
    }

    /** The closing line, and the JSON's summary fields. */
    public void finish(double seconds) {
        root.put("passed", passed());
        root.put("checks_passed", passed);
        root.put("checks_failed", failed);
        root.put("seconds", seconds);
        out.println();
        out.printf(Locale.ROOT, "selftest: %s: %d checks passed, %d failed, in %.1f s%n", passed() ? "PASS" : "FAIL",
                passed, failed, seconds);
        out.flush();
    }

    public void writeJson(Path file) throws IOException {
        AtomicFiles.write(file, o -> o.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root)));
    }
}
