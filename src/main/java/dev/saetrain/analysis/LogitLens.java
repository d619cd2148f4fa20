package dev.saetrain.analysis;

import static dev.saetrain.error.Setting.ALPHA;
import static dev.saetrain.error.Setting.TOP_TOKENS;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import com.fasterxml.jackson.databind.SerializationFeature;
import dev.saetrain.analysis.LogitStats.FeatureClass;
import dev.saetrain.analysis.LogitStats.Thresholds;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.export.SaeLensReader;
import dev.saetrain.io.AtomicFiles;
import dev.saetrain.model.SaeWeights;
import dev.saetrain.plot.BarChart;
import dev.saetrain.plot.XyChart;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The logit lens on a dictionary (Bloom &amp; Lin 2024, "Understanding SAE Features with the Logit Lens"): each
 * latent's logit weight distribution W_dec[i] . W_U over the vocabulary, its standard deviation, skewness and
 * kurtosis, its top and bottom tokens, its class (prediction, suppression, partition; see
 * {@link LogitStats.Thresholds}), and token-set enrichment: for each token set, a two-sided Mann-Whitney U test per
 * latent of the set's logit weights against the rest of the vocabulary, Benjamini-Hochberg corrected across latents.
 *
 * <p>Writes into {@code outDir}: {@code latents.csv}, {@code enrichment.csv}, {@code summary.json},
 * {@code skew-kurtosis.png}, {@code enrichment.png}, {@code kurtosis.png}.
 */
public final class LogitLens {
    /** The study's folder name: {@code <analysis>/logit-lens/<sae>/}. */
    public static final String STUDY = "logit-lens";
    private static final Logger LOG = LoggerFactory.getLogger(LogitLens.class);
    /** Latents per sgemm block. */
    private static final int BLOCK = 64;

    private LogitLens() {
    }

    /**
     * Settings of the study.
     *
     * @param thresholds the classification cut-offs
     * @param topTokens  how many top and bottom tokens to list per latent
     * @param alpha      the false-discovery rate at which a latent counts as enriched for a set
     */
    public record Options(Thresholds thresholds, int topTokens, double alpha) {
        /** Defaults: {@link Thresholds#DEFAULT}, 10 tokens, FDR 0.05. */
        public static final Options DEFAULT = new Options(Thresholds.DEFAULT, 10, 0.05);

        public Options {
            if (topTokens < 1) {
                throw new UsageException(TOP_TOKENS, "must be >= 1, got " + topTokens);
            }
            if (!(alpha > 0 && alpha < 1)) {
                throw new UsageException(ALPHA, "must be in (0, 1), got " + alpha);
            }
        }
    }

    /**
     * What the study found, per latent and per set.
     *
     * @param stats      per latent
     * @param classes    per latent
     * @param topTokens  per latent, the ids of its highest logit weights, best first
     * @param bottomTokens per latent, the ids of its lowest logit weights, lowest first
     * @param sets       the token sets tested
     * @param setSizes   members of each set in the vocabulary
     * @param auc        [set][latent] Mann-Whitney AUC (P(member outranks non-member))
     * @param z          [set][latent] standardised U
     * @param p          [set][latent] two-sided p-values
     * @param q          [set][latent] Benjamini-Hochberg q-values across latents
     */
    public record Result(List<LogitStats> stats, List<FeatureClass> classes, int[][] topTokens, int[][] bottomTokens,
                         List<TokenSet> sets, int[] setSizes, double[][] auc, double[][] z, double[][] p, double[][] q) {
        /** Latents of a class. */
        public int count(FeatureClass c) {
            return (int) classes.stream().filter(x -> x == c).count();
        }

        /** Latents with q &lt; alpha for set {@code s} whose set tokens rank higher (sign 1) or lower (sign -1). */
        public int significant(int s, double alpha, int sign) {
            int n = 0;
            for (int i = 0; i < q[s].length; i++) {
                if (q[s][i] < alpha && Math.signum(auc[s][i] - 0.5) == sign) {
                    n++;
                }
            }
            return n;
        }
    }

    /** Loads W_U and the vocabulary, runs {@link #analyse} and writes the study into {@code outDir}. */
    public static Result run(SaeLensReader.Loaded sae, Path unembed, String unembedKey, Path vocabFile,
                             List<TokenSet> sets, Options options, Path outDir) throws IOException {
        Unembedding wU = Unembedding.load(unembed, sae.weights().config().dIn(), unembedKey);
        Vocabulary vocab = Vocabulary.load(vocabFile);
        Result r = analyse(sae.weights(), wU, vocab, sets, options);
        write(r, sae.name(), wU, vocab, options, outDir);
        return r;
    }

    /** {@link #run} with the default options and no safetensors key. */
    public static Result run(SaeLensReader.Loaded sae, Path unembed, Path vocab, List<TokenSet> sets, Path outDir)
            throws IOException {
        return run(sae, unembed, null, vocab, sets, Options.DEFAULT, outDir);
    }

    /** W_U may be wider than the vocabulary by fewer columns than this (padding to a multiple of 8 up to 128). */
    static final int MAX_PADDING = 128;

    /** Whether {@code cols} W_U columns are {@code nV} tokens padded: a multiple of 8, fewer than 128 more. */
    static boolean isPadding(int nV, int cols) {
        return cols - nV < MAX_PADDING && cols % 8 == 0;
    }

    /** The study's numbers, without writing anything. */
    public static Result analyse(SaeWeights w, Unembedding wU, Vocabulary vocab, List<TokenSet> sets, Options options) {
        int d = w.config().dIn();
        int m = w.config().nLatents();
        if (wU.dIn() != d) {
            throw new BadInputException(wU.file(), "W_U has d = " + wU.dIn() + ", the SAE d = " + d);
        }
        if (vocab.size() > wU.vocab()) {
            throw new BadInputException(vocab.file(), vocab.size() + " tokens, but W_U (" + wU.file().getFileName()
                    + ") has only " + wU.vocab() + " columns; give the vocabulary of the same model");
        }
        int nV = vocab.size();
        int cols = wU.vocab();
        if (nV < cols) {
            // Models pad W_U to a multiple of 8 or 64 columns (GPT-2: 50257 tokens, 50304 columns); those columns have
            // no token. A larger gap means the vocabulary belongs to another model, and cutting W_U would be silent
            // nonsense.
            if (!isPadding(nV, cols)) {
                throw new BadInputException(vocab.file(), nV + " tokens, but W_U (" + wU.file().getFileName() + ") has "
                        + cols + " columns, more than padding to a multiple of 8 (at most " + (MAX_PADDING - 1)
                        + " extra columns) explains; give the vocabulary of the same model");
            }
            LOG.warn("W_U has {} columns and the vocabulary {} tokens: the last {} columns (padding) are left out",
                    cols, nV, cols - nV);
        }
        List<boolean[]> masks = new ArrayList<>();
        int[] setSizes = new int[sets.size()];
        for (int s = 0; s < sets.size(); s++) {
            boolean[] mask = sets.get(s).mask(vocab);
            masks.add(mask);
            for (boolean b : mask) {
                setSizes[s] += b ? 1 : 0;
            }
            if (setSizes[s] == 0 || setSizes[s] == nV) {
                LOG.warn("token set {} holds {} of {} tokens: it cannot be tested, its p-values are NaN",
                        sets.get(s).name(), setSizes[s], nV);
            }
        }
        int top = Math.min(options.topTokens(), nV);
        LogitStats[] stats = new LogitStats[m];
        FeatureClass[] classes = new FeatureClass[m];
        int[][] topTokens = new int[m][];
        int[][] bottomTokens = new int[m][];
        double[][] auc = new double[sets.size()][m];
        double[][] z = new double[sets.size()][m];
        double[][] p = new double[sets.size()][m];
        FloatBuffer a = Unembedding.direct((long) BLOCK * d);
        FloatBuffer c = Unembedding.direct((long) BLOCK * cols);
        float[] logits = new float[BLOCK * cols];
        float[] rows = new float[BLOCK * d];
        for (int start = 0; start < m; start += BLOCK) {
            int b = Math.min(BLOCK, m - start);
            w.wDec().get((long) start * d, rows, 0, b * d);
            a.put(0, rows, 0, b * d);
            // One product per column block of W_U, into its columns of the [b, cols] logits (ldc = cols).
            for (int k = 0; k < wU.blocks().length; k++) {
                int c0 = k * wU.blockCols();
                int width = wU.width(k);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, width, d, 1f, a, d, wU.blocks()[k], width, 0f,
                        c.slice(c0, b * cols - c0), cols);
            }
            c.get(0, logits, 0, b * cols);
            int first = start;
            // Each latent's statistics, ranking and tests are independent: one latent per task, results by index.
            IntStream.range(0, b).parallel().forEach(row -> {
                int i = first + row;
                int off = row * cols;
                LogitStats st = LogitStats.of(logits, off, nV);
                stats[i] = st;
                classes[i] = st.classify(options.thresholds());
                RankTests.Ranking ranking = RankTests.Ranking.of(logits, off, nV);
                int[] order = ranking.order();
                topTokens[i] = new int[top];
                bottomTokens[i] = new int[top];
                for (int t = 0; t < top; t++) {
                    topTokens[i][t] = order[nV - 1 - t];
                    bottomTokens[i][t] = order[t];
                }
                for (int s = 0; s < sets.size(); s++) {
                    RankTests.UTest u = RankTests.mannWhitney(ranking, masks.get(s), setSizes[s]);
                    auc[s][i] = u.auc();
                    z[s][i] = u.z();
                    p[s][i] = u.p();
                }
            });
        }
        double[][] q = new double[sets.size()][];
        for (int s = 0; s < sets.size(); s++) {
            q[s] = RankTests.benjaminiHochberg(p[s]);
        }
        return new Result(List.of(stats), List.of(classes), topTokens, bottomTokens, List.copyOf(sets), setSizes, auc, z, p, q);
    }

    /** Writes the CSVs, summary.json and plots of {@code r} into {@code outDir}. */
    public static void write(Result r, String saeName, Unembedding wU, Vocabulary vocab, Options options, Path outDir)
            throws IOException {
        int m = r.stats().size();
        StringBuilder csv = new StringBuilder("latent,mean,std,skewness,kurtosis,bimodality,class,top_tokens,bottom_tokens\n");
        for (int i = 0; i < m; i++) {
            LogitStats s = r.stats().get(i);
            csv.append(String.format(Locale.ROOT, "%d,%.6g,%.6g,%.6g,%.6g,%.6g,%s,%s,%s%n", i, s.mean(), s.std(),
                    s.skewness(), s.kurtosis(), s.bimodality(), r.classes().get(i).label(),
                    Csv.quote(StudyFiles.JSON.writer().without(SerializationFeature.INDENT_OUTPUT)
                            .writeValueAsString(tokens(vocab, r.topTokens()[i]))),
                    Csv.quote(StudyFiles.JSON.writer().without(SerializationFeature.INDENT_OUTPUT)
                            .writeValueAsString(tokens(vocab, r.bottomTokens()[i])))));
        }
        AtomicFiles.writeString(outDir.resolve("latents.csv"), csv.toString());

        StringBuilder enr = new StringBuilder("set,latent,auc,z,p,q,significant,direction\n");
        for (int s = 0; s < r.sets().size(); s++) {
            for (int i = 0; i < m; i++) {
                double q = r.q()[s][i];
                boolean sig = q < options.alpha();
                enr.append(String.format(Locale.ROOT, "%s,%d,%.6f,%.4f,%.4g,%.4g,%b,%s%n", r.sets().get(s).name(), i,
                        r.auc()[s][i], r.z()[s][i], r.p()[s][i], q, sig,
                        !sig ? "" : r.auc()[s][i] > 0.5 ? "promotes" : "suppresses"));
            }
        }
        AtomicFiles.writeString(outDir.resolve("enrichment.csv"), enr.toString());

        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("study", STUDY);
        summary.put("sae", saeName);
        summary.put("d_in", wU.dIn());
        summary.put("d_sae", m);
        summary.put("vocab", vocab.size());
        summary.put("unembed", wU.file().toString());
        summary.put("vocab_file", vocab.file().toString());
        summary.put("thresholds", Map.of("min_kurtosis", options.thresholds().minKurtosis(),
                "min_abs_skew", options.thresholds().minSkew(), "min_bimodality", options.thresholds().minBimodality()));
        Map<String, Object> counts = new LinkedHashMap<>();
        for (FeatureClass c : FeatureClass.values()) {
            counts.put(c.label(), r.count(c));
        }
        summary.put("classes", counts);
        summary.put("examples", examples(r, vocab, 5));
        summary.put("alpha", options.alpha());
        List<Map<String, Object>> setRows = new ArrayList<>();
        for (int s = 0; s < r.sets().size(); s++) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("set", r.sets().get(s).name());
            row.put("description", r.sets().get(s).description());
            row.put("tokens", r.setSizes()[s]);
            row.put("latents_promoting", r.significant(s, options.alpha(), 1));
            row.put("latents_suppressing", r.significant(s, options.alpha(), -1));
            row.put("strongest_latents", strongest(r, s, 5));
            setRows.add(row);
        }
        summary.put("enrichment", setRows);
        StudyFiles.writeJson(outDir.resolve(StudyFiles.SUMMARY), StudyFiles.JSON.valueToTree(summary));
        plots(r, options, outDir);
    }

    private static List<String> tokens(Vocabulary vocab, int[] ids) {
        List<String> out = new ArrayList<>(ids.length);
        for (int id : ids) {
            out.add(vocab.token(id));
        }
        return out;
    }

    /** Up to {@code n} latents per class, the most extreme first, with their top and bottom tokens. */
    private static Map<String, Object> examples(Result r, Vocabulary vocab, int n) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (FeatureClass c : List.of(FeatureClass.PREDICTION, FeatureClass.SUPPRESSION, FeatureClass.PARTITION)) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int i : ranked(r, c)) {
                if (rows.size() == n) {
                    break;
                }
                LogitStats s = r.stats().get(i);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("latent", i);
                row.put("skewness", s.skewness());
                row.put("kurtosis", s.kurtosis());
                row.put("top_tokens", tokens(vocab, r.topTokens()[i]));
                row.put("bottom_tokens", tokens(vocab, r.bottomTokens()[i]));
                rows.add(row);
            }
            out.put(c.label(), rows);
        }
        return out;
    }

    /** The latents of class {@code c}, most extreme first (kurtosis; bimodality for partition). */
    static List<Integer> ranked(Result r, FeatureClass c) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < r.classes().size(); i++) {
            if (r.classes().get(i) == c) {
                ids.add(i);
            }
        }
        ids.sort((x, y) -> c == FeatureClass.PARTITION
                ? Double.compare(r.stats().get(y).bimodality(), r.stats().get(x).bimodality())
                : Double.compare(r.stats().get(y).kurtosis(), r.stats().get(x).kurtosis()));
        return ids;
    }

    private static List<Map<String, Object>> strongest(Result r, int s, int n) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < r.q()[s].length; i++) {
            if (!Double.isNaN(r.z()[s][i])) {
                ids.add(i);
            }
        }
        ids.sort((x, y) -> Double.compare(Math.abs(r.z()[s][y]), Math.abs(r.z()[s][x])));
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i : ids.subList(0, Math.min(n, ids.size()))) {
            out.add(Map.of("latent", i, "auc", r.auc()[s][i], "z", r.z()[s][i], "q", r.q()[s][i]));
        }
        return out;
    }

    private static void plots(Result r, Options options, Path outDir) throws IOException {
        XyChart scatter = Plots.scatter("Logit weight distributions: skewness vs kurtosis", "skewness",
                "kurtosis (log scale)").logY(true);
        Map<FeatureClass, List<double[]>> byClass = new EnumMap<>(FeatureClass.class);
        for (int i = 0; i < r.stats().size(); i++) {
            LogitStats s = r.stats().get(i);
            if (s.kurtosis() > 0) {
                byClass.computeIfAbsent(r.classes().get(i), k -> new ArrayList<>())
                        .add(new double[] {s.skewness(), s.kurtosis()});
            }
        }
        for (var e : byClass.entrySet()) {
            double[] x = e.getValue().stream().mapToDouble(v -> v[0]).toArray();
            double[] y = e.getValue().stream().mapToDouble(v -> v[1]).toArray();
            scatter.add(e.getKey().label() + " (" + x.length + ")", x, y, XyChart.Style.SCATTER);
        }
        Plots.write(scatter, outDir.resolve("skew-kurtosis.png"));

        List<String> names = r.sets().stream().map(TokenSet::name).toList();
        BarChart bars = Plots.bars("Token-set enrichment (BH q < " + options.alpha() + ")", "token set", "latents",
                names);
        List<Integer> up = new ArrayList<>();
        List<Integer> down = new ArrayList<>();
        for (int s = 0; s < r.sets().size(); s++) {
            up.add(r.significant(s, options.alpha(), 1));
            down.add(r.significant(s, options.alpha(), -1));
        }
        if (!names.isEmpty()) {
            Plots.addBars(bars, "promote the set", up);
            Plots.addBars(bars, "suppress the set", down);
        }
        Plots.write(bars, outDir.resolve("enrichment.png"));

        XyChart hist = Plots.lines("Kurtosis of the logit weight distribution, all latents", "kurtosis",
                "latents");
        double[] k = r.stats().stream().mapToDouble(LogitStats::kurtosis).toArray();
        Plots.addHistogram(hist, "latents", k, 50);
        Plots.write(hist, outDir.resolve("kurtosis.png"));
    }
}
