package dev.saetrain.analysis;

import static dev.saetrain.error.Setting.ANALYSIS_ROWS;
import static dev.saetrain.error.Setting.CANDIDATES;
import static dev.saetrain.error.Setting.OUT;
import static dev.saetrain.error.Setting.ROWS_PER_SHARD;
import static dev.saetrain.error.Setting.SYNTHETIC_ROWS;

import dev.saetrain.data.Shard;
import dev.saetrain.data.ShardSet;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.export.SaeLensReader;
import dev.saetrain.io.AtomicFiles;
import dev.saetrain.io.DType;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import dev.saetrain.model.SaeWeights;
import dev.saetrain.plot.XyChart;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Synthetic activations composed of SAE latents (Giglemiani, Petrova, Mangat, Janiak &amp; Heimersheim 2024,
 * "Evaluating Synthetic Activations composed of SAE Latents in GPT-2"). From a dictionary and real shards: encode a
 * sample of real rows, measure their L0, per-latent activations and each active latent's decoder cosine similarity to
 * its row's top latent; write {@code synthetic-baseline} and {@code synthetic-structured} shard directories
 * ({@link SyntheticGenerator}) as .npy [rows, d] f32, ready to feed into a model; then compare real and synthetic
 * distributions (KS distances, CDF plots), both on the generated codes and on the written shards encoded again by
 * the same SAE.
 *
 * <p>Writes into {@code outDir}: {@code synthetic-baseline/shard-NNNNN.npy}, {@code synthetic-structured/...},
 * {@code codes/{baseline,structured}-{indices,values}.npy} ([rows, maxL0], indices -1 where a row has fewer latents),
 * {@code ks.csv}, {@code latents.csv} (per latent: firing count, mean and maximum activation in the real,
 * baseline and structured codes), {@code summary.json}, {@code cdf-l0.png}, {@code cdf-magnitude.png}, {@code cdf-cosine.png}.
 */
public final class SyntheticActivations {
    /** The study's folder name: {@code <analysis>/synthetic/<sae>/}. */
    public static final String STUDY = "synthetic";
    private static final Logger LOG = LoggerFactory.getLogger(SyntheticActivations.class);
    private static final int BATCH = 1024;
    /** The shard directories this study writes. */
    public static final String BASELINE_DIR = "synthetic-baseline";
    public static final String STRUCTURED_DIR = "synthetic-structured";

    private SyntheticActivations() {
    }

    /**
     * Settings.
     *
     * @param realRows      real rows sampled, evenly spaced through the shards (all of them when there are fewer)
     * @param syntheticRows rows of each synthetic kind (0: as many as real rows sampled)
     * @param rowsPerShard  rows per written shard file
     * @param candidates    structured: latents nearest the target similarity to draw from (1: the nearest; more gives
     *                      more variety and a looser match of the similarity distribution)
     * @param reservoir     activations kept per latent to draw magnitudes from
     * @param seed          random seed; same seed and inputs, same shards
     */
    public record Options(int realRows, int syntheticRows, int rowsPerShard, int candidates, int reservoir, long seed) {
        /** 16384 real rows, as many synthetic, 65536 rows per shard, 1 candidate, 512 values per latent, seed 0. */
        public static final Options DEFAULT = new Options(16384, 0, 65536, 1, 512, 0);

        public Options {
            if (realRows < 1) {
                throw new UsageException(ANALYSIS_ROWS, "must be >= 1, got " + realRows);
            }
            if (syntheticRows < 0) {
                throw new UsageException(SYNTHETIC_ROWS, "must be >= 0, got " + syntheticRows);
            }
            if (rowsPerShard < 1) {
                throw new UsageException(ROWS_PER_SHARD, "must be >= 1, got " + rowsPerShard);
            }
            if (candidates < 1) {
                throw new UsageException(CANDIDATES, "must be >= 1, got " + candidates);
            }
            if (reservoir < 1) {
                throw new IllegalArgumentException("the reservoir must keep >= 1 value per latent, got " + reservoir);
            }
        }
    }

    /** One real-vs-synthetic comparison: KS distance and means. */
    public record Comparison(String distribution, String kind, String measuredOn, double ks, double realMean,
                             double syntheticMean) {
    }

    /**
     * What was measured.
     *
     * @param real        the real rows' distributions
     * @param codes       by kind ("baseline", "structured"): the generated codes' distributions
     * @param reencoded   by kind: the written shards encoded again by the SAE
     * @param comparisons every KS distance
     */
    public record Result(Distributions real, Map<String, Distributions> codes, Map<String, Distributions> reencoded,
                         List<Comparison> comparisons) {
        /** The KS distance of one comparison. */
        public double ks(String distribution, String kind, String measuredOn) {
            return comparisons.stream().filter(c -> c.distribution().equals(distribution) && c.kind().equals(kind)
                    && c.measuredOn().equals(measuredOn)).findFirst().orElseThrow().ks();
        }
    }

    /**
     * The folder of {@code outDir} (a study's output) that already holds synthetic shards, or null. They are never
     * overwritten (they may be feeding a model); commands that study several dictionaries check every one before the
     * first is written, so that none is left half done.
     */
    public static Path existingShards(Path outDir) throws IOException {
        for (String kind : List.of(BASELINE_DIR, STRUCTURED_DIR)) {
            Path dir = outDir.resolve(kind);
            if (Files.isDirectory(dir)) {
                try (var s = Files.list(dir)) {
                    if (s.anyMatch(p -> p.getFileName().toString().endsWith(".npy"))) {
                        return dir;
                    }
                }
            }
        }
        return null;
    }

    /** Refuses a study output that already holds synthetic shards (see {@link #existingShards}). */
    public static void refuseExistingShards(Path outDir) throws IOException {
        Path dir = existingShards(outDir);
        if (dir != null) {
            throw new BadInputException(dir, "already holds shards; remove it or choose another ", OUT);
        }
    }

    /** Runs the study of {@code sae} on the shards in {@code shardDir}, writing into {@code outDir}. */
    public static Result run(SaeLensReader.Loaded sae, Path shardDir, Options o, Path outDir) throws IOException {
        SaeWeights w = sae.weights();
        int d = w.config().dIn();
        int m = w.config().nLatents();
        refuseExistingShards(outDir);
        ShardSet shards = ShardSet.open(shardDir);
        if (shards.dIn() != d) {
            throw new BadInputException(shardDir, "rows have d = " + shards.dIn() + " but the SAE " + sae.name()
                    + " reads d = " + d + "; give the shards it was trained on");
        }
        float[] unitDec = Cosines.unitRowsFloat(w.wDec().toArray("the synthetic study (decoder rows as features)"), m, d);
        SaeEncoder encoder = new SaeEncoder(w);
        SaeEncoder.Codes realCodes = encodeSample(shards, encoder, o.realRows(), d);
        Distributions real = Distributions.of(realCodes, unitDec, d);
        LOG.info("{}: {} real rows encoded, mean L0 {}", sae.name(), realCodes.rows(),
                String.format(Locale.ROOT, "%.2f", Distributions.mean(real.l0())));
        if (real.magnitudes().length == 0) {
            throw new BadInputException(shardDir, "no latent of " + sae.name() + " fires on the " + realCodes.rows()
                    + " rows read; nothing to build synthetic activations from (wrong SAE for these shards?)");
        }
        LatentProfile profile = new LatentProfile(realCodes, real, m, o.reservoir(), o.seed());
        SyntheticGenerator gen = new SyntheticGenerator(profile, unitDec, d, o.candidates());
        int rows = o.syntheticRows() == 0 ? realCodes.rows() : o.syntheticRows();
        Map<String, Distributions> codes = new LinkedHashMap<>();
        Map<String, Distributions> reencoded = new LinkedHashMap<>();
        List<Comparison> comparisons = new ArrayList<>();
        List<double[][]> perLatent = new ArrayList<>();
        perLatent.add(perLatent(realCodes, m));
        long seedStream = o.seed() * 0x9E3779B97F4A7C15L;
        for (String kind : List.of("baseline", "structured")) {
            SaeEncoder.Codes c = gen.generate(kind.equals("structured"), rows,
                    new SplittableRandom(seedStream + (kind.equals("structured") ? 2 : 1)));
            Path shardOut = outDir.resolve(kind.equals("structured") ? STRUCTURED_DIR : BASELINE_DIR);
            writeShards(c, w, shardOut, o.rowsPerShard());
            writeCodes(c, outDir.resolve("codes"), kind);
            Distributions measured = Distributions.of(c, unitDec, d);
            ShardSet written = ShardSet.open(shardOut);
            Distributions again = Distributions.of(encodeSample(written, encoder, (int) written.totalRows(), d), unitDec, d);
            perLatent.add(perLatent(c, m));
            codes.put(kind, measured);
            reencoded.put(kind, again);
            comparisons.addAll(compare(real, measured, kind, "codes"));
            comparisons.addAll(compare(real, again, kind, "re-encoded"));
        }
        Result result = new Result(real, codes, reencoded, comparisons);
        writeLatents(perLatent, outDir.resolve("latents.csv"));
        write(result, sae.name(), shardDir, rows, o, outDir);
        return result;
    }

    /** Per latent: [0] firing count, [1] mean activation when firing, [2] max activation. */
    static double[][] perLatent(SaeEncoder.Codes c, int m) {
        double[][] out = new double[3][m];
        for (int e = 0; e < c.idx().length; e++) {
            int i = c.idx()[e];
            out[0][i]++;
            out[1][i] += c.val()[e];
            out[2][i] = Math.max(out[2][i], c.val()[e]);
        }
        for (int i = 0; i < m; i++) {
            out[1][i] = out[0][i] == 0 ? 0 : out[1][i] / out[0][i];
        }
        return out;
    }

    /** latents.csv: per latent, firing count, mean and max activation, real then baseline then structured. */
    private static void writeLatents(List<double[][]> p, Path file) throws IOException {
        StringBuilder csv = new StringBuilder("latent,real_fires,real_mean,real_max,baseline_fires,baseline_mean,"
                + "baseline_max,structured_fires,structured_mean,structured_max\n");
        for (int i = 0; i < p.get(0)[0].length; i++) {
            csv.append(i);
            for (double[][] k : p) {
                csv.append(String.format(Locale.ROOT, ",%d,%.5g,%.5g", (long) k[0][i], k[1][i], k[2][i]));
            }
            csv.append('\n');
        }
        AtomicFiles.writeString(file, csv.toString());
    }

    /** Reads {@code n} rows evenly spaced over the set (all rows if fewer) and encodes them. */
    static SaeEncoder.Codes encodeSample(ShardSet shards, SaeEncoder encoder, int n, int d) {
        long total = shards.totalRows();
        int rows = (int) Math.min(n, total);
        int[] rowPtr = new int[rows + 1];
        SaeEncoder.IntList idx = new SaeEncoder.IntList();
        SaeEncoder.FloatList val = new SaeEncoder.FloatList();
        float[] x = new float[BATCH * d];
        for (int start = 0; start < rows; start += BATCH) {
            int b = Math.min(BATCH, rows - start);
            for (int r = 0; r < b; r++) {
                long g = (long) ((start + r) * (double) total / rows);
                int s = shards.shardOf(g);
                Shard shard = shards.shards().get(s);
                long local = g - shards.offset(s);
                shard.readRows(local, 1, 1f, x, r * d);
                int bad = Shard.firstNonFinite(x, r * d, d);
                if (bad >= 0) {
                    throw new BadInputException(shard.path(), "row " + local + " has a non-finite value ("
                            + x[r * d + bad] + " in column " + bad + "); fix the activation cache");
                }
            }
            SaeEncoder.Codes c = encoder.encode(x, b);
            for (int r = 0; r < b; r++) {
                for (int e = c.rowPtr()[r]; e < c.rowPtr()[r + 1]; e++) {
                    idx.add(c.idx()[e]);
                    val.add(c.val()[e]);
                }
                rowPtr[start + r + 1] = idx.size;
            }
        }
        return new SaeEncoder.Codes(rows, rowPtr, idx.toArray(), val.toArray());
    }

    /** Decodes the codes (x = sum f_i W_dec[i] + b_dec) into .npy shards of at most {@code perShard} rows. */
    static void writeShards(SaeEncoder.Codes c, SaeWeights w, Path dir, int perShard) throws IOException {
        int d = w.config().dIn();
        float[] wDec = w.wDec().toArray("the synthetic study's shards (decoded from the dictionary)");
        for (int first = 0, n = 0; first < c.rows(); first += perShard, n++) {
            int rows = Math.min(perShard, c.rows() - first);
            float[] x = new float[rows * d];
            for (int r = 0; r < rows; r++) {
                double[] acc = new double[d];
                for (int j = 0; j < d; j++) {
                    acc[j] = w.bDec()[j];
                }
                for (int e = c.rowPtr()[first + r]; e < c.rowPtr()[first + r + 1]; e++) {
                    int i = c.idx()[e];
                    double v = c.val()[e];
                    for (int j = 0; j < d; j++) {
                        acc[j] += v * wDec[i * d + j];
                    }
                }
                for (int j = 0; j < d; j++) {
                    x[r * d + j] = (float) acc[j];
                }
            }
            NpyWriter.write(dir.resolve(String.format(Locale.ROOT, "shard-%05d.npy", n)), Tensor.f32(x, rows, d));
        }
    }

    private static void writeCodes(SaeEncoder.Codes c, Path dir, String kind) throws IOException {
        int width = 1;
        for (int r = 0; r < c.rows(); r++) {
            width = Math.max(width, c.l0(r));
        }
        int[] idx = new int[c.rows() * width];
        float[] val = new float[c.rows() * width];
        java.util.Arrays.fill(idx, -1);
        for (int r = 0; r < c.rows(); r++) {
            int k = 0;
            for (int e = c.rowPtr()[r]; e < c.rowPtr()[r + 1]; e++, k++) {
                idx[r * width + k] = c.idx()[e];
                val[r * width + k] = c.val()[e];
            }
        }
        NpyWriter.write(dir.resolve(kind + "-indices.npy"), new Tensor(DType.I32, new long[] {c.rows(), width}, idx));
        NpyWriter.write(dir.resolve(kind + "-values.npy"), Tensor.f32(val, c.rows(), width));
    }

    private static List<Comparison> compare(Distributions real, Distributions syn, String kind, String on) {
        return List.of(
                comparison("l0", kind, on, real.l0(), syn.l0()),
                comparison("magnitude", kind, on, real.magnitudes(), syn.magnitudes()),
                comparison("cosine_to_top", kind, on, real.cosToTop(), syn.cosToTop()));
    }

    private static Comparison comparison(String what, String kind, String on, double[] a, double[] b) {
        double ks = a.length == 0 || b.length == 0 ? Double.NaN : ks(a, b);
        return new Comparison(what, kind, on, ks, Distributions.mean(a), Distributions.mean(b));
    }

    /** The two-sample Kolmogorov-Smirnov distance sup |F_a - F_b| (Commons Math). */
    public static double ks(double[] a, double[] b) {
        return new KolmogorovSmirnovTest().kolmogorovSmirnovStatistic(a, b);
    }

    private static void write(Result r, String saeName, Path shardDir, int rows, Options o, Path outDir)
            throws IOException {
        StringBuilder csv = new StringBuilder("distribution,kind,measured_on,ks,real_mean,synthetic_mean\n");
        for (Comparison c : r.comparisons()) {
            csv.append(String.format(Locale.ROOT, "%s,%s,%s,%.4f,%.5g,%.5g%n", c.distribution(), c.kind(),
                    c.measuredOn(), c.ks(), c.realMean(), c.syntheticMean()));
        }
        AtomicFiles.writeString(outDir.resolve("ks.csv"), csv.toString());
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("study", STUDY);
        s.put("sae", saeName);
        s.put("shards", shardDir.toString());
        s.put("real_rows", r.real().l0().length);
        s.put("synthetic_rows", rows);
        s.put("seed", o.seed());
        s.put("candidates", o.candidates());
        s.put("real_mean_l0", Distributions.mean(r.real().l0()));
        s.put("real_mean_magnitude", Distributions.mean(r.real().magnitudes()));
        s.put("real_mean_cosine_to_top", Distributions.mean(r.real().cosToTop()));
        Map<String, Object> ks = new LinkedHashMap<>();
        for (Comparison c : r.comparisons()) {
            ks.put(c.kind() + "/" + c.measuredOn() + "/" + c.distribution(), c.ks());
        }
        s.put("ks", ks);
        s.put("outputs", List.of(BASELINE_DIR, STRUCTURED_DIR, "codes"));
        StudyFiles.writeJson(outDir.resolve(StudyFiles.SUMMARY), StudyFiles.JSON.valueToTree(s));
        cdf(r, "l0", "L0 per row", outDir.resolve("cdf-l0.png"));
        cdf(r, "magnitude", "activation of each active latent", outDir.resolve("cdf-magnitude.png"));
        cdf(r, "cosine_to_top", "decoder cosine similarity to the row's top latent", outDir.resolve("cdf-cosine.png"));
    }

    private static void cdf(Result r, String what, String title, Path file) throws IOException {
        XyChart chart = Plots.lines("Real vs synthetic: " + title, title, "CDF");
        add(chart, "real", pick(r.real(), what));
        for (String kind : r.codes().keySet()) {
            add(chart, kind + String.format(Locale.ROOT, " (KS %.3f)", r.ks(what, kind, "codes")),
                    pick(r.codes().get(kind), what));
            add(chart, kind + " re-encoded" + String.format(Locale.ROOT, " (KS %.3f)", r.ks(what, kind, "re-encoded")),
                    pick(r.reencoded().get(kind), what));
        }
        Plots.write(chart, file);
    }

    private static void add(XyChart chart, String name, double[] v) {
        if (v.length > 0) {
            Plots.addCdf(chart, name, v);
        }
    }

    private static double[] pick(Distributions d, String what) {
        return switch (what) {
            case "l0" -> d.l0();
            case "magnitude" -> d.magnitudes();
            default -> d.cosToTop();
        };
    }
}
