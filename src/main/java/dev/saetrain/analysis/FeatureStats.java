package dev.saetrain.analysis;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.data.ShardSet;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Feature statistics of one dictionary over a sample of a shard directory ({@link RowSample}): per latent the firing
 * frequency (fraction of rows with f_i != 0), the mean activation when firing, the maximum; the log10
 * feature-density histogram of Bricken et al. 2023, "Towards Monosemanticity" (section "Feature density"); dead
 * latents (never fired in the sample), dense ones (firing on more than {@value #DENSE_FREQUENCY} of rows, the
 * threshold of the training metrics) and the ultra-low-density cluster (alive, firing on fewer than
 * {@value #ULTRALOW_FREQUENCY} of rows: Towards Monosemanticity finds a separate mode of features near 1e-6..1e-5
 * density; a sample of n rows resolves frequencies down to 1/n only). Also the dictionary's L0 and FVU on the sample.
 *
 * <p>Writes {@code latents.csv}, {@code summary.json}, {@code density.png} (the histogram) and
 * {@code frequency-vs-activation.png}.
 */
public final class FeatureStats {
    /** The study's folder name. */
    public static final String STUDY = "feature-stats";
    /** A latent firing on more than this fraction of rows is dense. */
    public static final double DENSE_FREQUENCY = 0.1;
    /** An alive latent firing on fewer than this fraction of rows is in the ultra-low-density cluster. */
    public static final double ULTRALOW_FREQUENCY = 1e-4;

    /**
     * The statistics.
     *
     * @param rows       rows in the sample
     * @param fires      [nLatents] rows on which each latent fired
     * @param meanActive [nLatents] mean activation over the rows where it fired (0 if dead)
     * @param maxAct     [nLatents] largest activation (0 if dead)
     * @param l0         mean number of active latents per row
     * @param fvu        sum |x - x_hat|^2 / sum |x - mean x|^2 over the sample
     */
    public record Result(int rows, long[] fires, double[] meanActive, double[] maxAct, double l0, double fvu) {
        /** Firing frequency of latent i. */
        public double frequency(int i) {
            return (double) fires[i] / rows;
        }

        public int dead() {
            int n = 0;
            for (long f : fires) {
                n += f == 0 ? 1 : 0;
            }
            return n;
        }

        public int dense() {
            int n = 0;
            for (int i = 0; i < fires.length; i++) {
                n += frequency(i) > DENSE_FREQUENCY ? 1 : 0;
            }
            return n;
        }

        public int ultralow() {
            int n = 0;
            for (int i = 0; i < fires.length; i++) {
                n += fires[i] > 0 && frequency(i) < ULTRALOW_FREQUENCY ? 1 : 0;
            }
            return n;
        }
    }

    private static final class Acc {
        final long[] fires;
        final double[] sumAct;
        final double[] maxAct;
        final double[] sumX;
        final double[] xHat;
        double sumX2;
        double sqErr;
        long active;
        final SaeEncoder.Scratch scratch;

        Acc(SaeEncoder enc, int d, int m) {
            fires = new long[m];
            sumAct = new double[m];
            maxAct = new double[m];
            sumX = new double[d];
            xHat = new double[d];
            scratch = enc.scratch();
        }
    }

    private FeatureStats() {
    }

    /** Encodes up to {@code maxRows} sample rows of {@code set} with {@code w}. */
    public static Result compute(SaeWeights w, ShardSet set, long maxRows) {
        int d = w.config().dIn();
        int m = w.config().nLatents();
        if (set.dIn() != d) {
            throw new UsageException("the shards in " + set.source() + " have d = " + set.dIn()
                    + " but the dictionary takes d_in = " + d + "; give the shards it was trained on");
        }
        int n = RowSample.count(set, maxRows);
        SaeEncoder enc = new SaeEncoder(w);
        List<Acc> parts = RowSample.run(set, n, () -> new Acc(enc, d, m), (x, a) -> {
            int k = enc.encode(x, 0, a.scratch);
            a.active += k;
            for (int r = 0; r < k; r++) {
                int i = a.scratch.idx[r];
                double v = a.scratch.val[r];
                a.fires[i]++;
                a.sumAct[i] += v;
                a.maxAct[i] = Math.max(a.maxAct[i], v);
            }
            enc.decode(a.scratch, k, a.xHat);
            for (int j = 0; j < d; j++) {
                double e = x[j] - a.xHat[j];
                a.sqErr += e * e;
                a.sumX[j] += x[j];
                a.sumX2 += (double) x[j] * x[j];
            }
        });
        long[] fires = new long[m];
        double[] sumAct = new double[m];
        double[] maxAct = new double[m];
        double[] sumX = new double[d];
        double sumX2 = 0;
        double sqErr = 0;
        long active = 0;
        for (Acc a : parts) {
            for (int i = 0; i < m; i++) {
                fires[i] += a.fires[i];
                sumAct[i] += a.sumAct[i];
                maxAct[i] = Math.max(maxAct[i], a.maxAct[i]);
            }
            for (int j = 0; j < d; j++) {
                sumX[j] += a.sumX[j];
            }
            sumX2 += a.sumX2;
            sqErr += a.sqErr;
            active += a.active;
        }
        double centred = sumX2;
        for (int j = 0; j < d; j++) {
            centred -= sumX[j] * sumX[j] / n;
        }
        double[] meanActive = new double[m];
        for (int i = 0; i < m; i++) {
            meanActive[i] = fires[i] == 0 ? 0 : sumAct[i] / fires[i];
        }
        return new Result(n, fires, meanActive, maxAct, (double) active / n, centred > 0 ? sqErr / centred : Double.NaN);
    }

    /** {@link #compute} and writes the study into {@code outDir}. */
    public static Result run(String saeName, SaeWeights w, ShardSet set, long maxRows, Path outDir) throws IOException {
        Result r = compute(w, set, maxRows);
        write(saeName, w, r, set.source().toString(), outDir);
        return r;
    }

    static void write(String saeName, SaeWeights w, Result r, String source, Path outDir) throws IOException {
        int m = w.config().nLatents();
        Csv csv = new Csv("latent", "fires", "frequency", "log10_frequency", "mean_active", "max", "dead", "dense",
                "ultralow");
        double[] logAlive = new double[m - r.dead()];
        double[] freqAlive = new double[logAlive.length];
        double[] meanAlive = new double[logAlive.length];
        int a = 0;
        for (int i = 0; i < m; i++) {
            double f = r.frequency(i);
            boolean dead = r.fires()[i] == 0;
            csv.row(i, r.fires()[i], f, dead ? "" : Math.log10(f), r.meanActive()[i], r.maxAct()[i], dead,
                    f > DENSE_FREQUENCY, !dead && f < ULTRALOW_FREQUENCY);
            if (!dead) {
                logAlive[a] = Math.log10(f);
                freqAlive[a] = f;
                meanAlive[a++] = r.meanActive()[i];
            }
        }
        csv.write(outDir.resolve("latents.csv"));
        double lo = Math.min(-6, Math.floor(Math.log10(1.0 / r.rows())));
        Histogram h = Histogram.of(logAlive, lo, 0, (int) Math.round(-lo * 10));
        ObjectNode s = StudyFiles.object();
        s.put("sae", saeName);
        s.put("shards", source);
        s.put("rows", r.rows());
        s.put("d_in", w.config().dIn());
        s.put("n_latents", m);
        s.put("l0", r.l0());
        s.put("fvu", r.fvu());
        s.put("explained_variance", 1 - r.fvu());
        s.put("dead", r.dead());
        s.put("dead_fraction", (double) r.dead() / m);
        s.put("dense", r.dense());
        s.put("dense_fraction", (double) r.dense() / m);
        s.put("dense_threshold", DENSE_FREQUENCY);
        s.put("ultralow", r.ultralow());
        s.put("ultralow_fraction", (double) r.ultralow() / m);
        s.put("ultralow_threshold", ULTRALOW_FREQUENCY);
        s.set("log10_density_histogram", StudyFiles.histogram(h));
        StudyFiles.writeJson(outDir.resolve(StudyFiles.SUMMARY), s);
        Plots.histogram(outDir.resolve("density.png"), saeName + ": feature density (" + r.rows() + " rows)",
                "log10(firing frequency)", h, "alive latents (" + r.dead() + " dead not shown)");
        if (freqAlive.length > 0) {
            Map<String, Plots.Series> series = new LinkedHashMap<>();
            series.put("alive latents", Plots.Series.scatter(freqAlive, meanAlive));
            boolean logY = java.util.Arrays.stream(meanAlive).allMatch(v -> v > 0);
            Plots.xy(outDir.resolve("frequency-vs-activation.png"), saeName + ": firing frequency vs mean activation",
                    "firing frequency", "mean activation when firing", true, logY, series);
        }
    }
}
