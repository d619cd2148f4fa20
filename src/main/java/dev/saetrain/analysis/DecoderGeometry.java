package dev.saetrain.analysis;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Decoder geometry of one dictionary: each latent's nearest neighbour by decoder cosine (over the other latents),
 * the histogram of those similarities, the near-duplicate pairs (decoder cosine >= a threshold, default
 * {@value #DEFAULT_DUPLICATE_COS}), and the cosine between each latent's encoder column W_enc[:, i] and decoder row
 * W_dec[i, :] (1 for tied dictionaries and at the usual W_enc = W_dec^T initialisation).
 * Cost: nLatents^2 * dIn multiply-adds (a 16k-latent dictionary at d = 768: about 2e11, minutes on a few cores).
 *
 * <p>Writes {@code latents.csv}, {@code duplicates.csv} (at most {@value #MAX_PAIRS} pairs, highest first),
 * {@code summary.json}, {@code nearest-cosine.png} and {@code encoder-decoder-cosine.png}.
 */
public final class DecoderGeometry {
    /** The study's folder name. */
    public static final String STUDY = "geometry";
    /** Default near-duplicate threshold on the decoder cosine. */
    public static final double DEFAULT_DUPLICATE_COS = 0.9;
    /** Most pairs listed in duplicates.csv. */
    public static final int MAX_PAIRS = 100_000;

    /** A pair of latents a < b with their decoder cosine. */
    public record Pair(int a, int b, double cos) {
    }

    /**
     * The geometry.
     *
     * @param nearest    [nLatents] the other latent with the largest decoder cosine
     * @param nearestCos [nLatents] that cosine
     * @param encDecCos  [nLatents] cos(W_enc[:, i], W_dec[i, :])
     * @param decNorm    [nLatents] |W_dec[i, :]|
     * @param duplicates pairs with cosine >= the threshold, highest first (all of them, even past MAX_PAIRS)
     */
    public record Result(int[] nearest, double[] nearestCos, double[] encDecCos, double[] decNorm, List<Pair> duplicates,
                         double threshold) {
    }

    private DecoderGeometry() {
    }

    public static Result compute(SaeWeights w, double duplicateCos) {
        int d = w.config().dIn();
        int m = w.config().nLatents();
        // Every decoder row against every other (m^2 d products) over one array of unit rows: a whole matrix.
        float[] wDec = w.wDec().toArray("the decoder geometry (nearest neighbours among all decoder rows)");
        double[] u = Cosines.unitRows(wDec, m, d);
        double[] nearestCos = new double[m];
        int[] nearest = Cosines.nearest(u, m, u, m, d, true, nearestCos);
        List<List<Pair>> perRow = IntStream.range(0, m).parallel().mapToObj(i -> {
            List<Pair> l = new ArrayList<>();
            if (!(nearestCos[i] >= duplicateCos)) {
                return l;
            }
            for (int j = i + 1; j < m; j++) {
                double c = Cosines.dot(u, i, u, j, d);
                if (c >= duplicateCos) {
                    l.add(new Pair(i, j, c));
                }
            }
            return l;
        }).toList();
        List<Pair> dups = new ArrayList<>();
        perRow.forEach(dups::addAll);
        dups.sort((p, q) -> p.cos() != q.cos() ? Double.compare(q.cos(), p.cos())
                : p.a() != q.a() ? Integer.compare(p.a(), q.a()) : Integer.compare(p.b(), q.b()));
        double[] encDec = new double[m];
        double[] decNorm = new double[m];
        for (int i = 0; i < m; i++) {
            double dot = 0;
            double ne = 0;
            for (int j = 0; j < d; j++) {
                double e = w.wEnc().get(j, i);
                dot += e * wDec[i * d + j];
                ne += e * e;
            }
            decNorm[i] = Cosines.rowNorm(wDec, i, d);
            encDec[i] = ne > 0 && decNorm[i] > 0 ? dot / (Math.sqrt(ne) * decNorm[i]) : 0;
        }
        return new Result(nearest, nearestCos, encDec, decNorm, dups, duplicateCos);
    }

    public static Result run(String saeName, SaeWeights w, double duplicateCos, Path outDir) throws IOException {
        Result r = compute(w, duplicateCos);
        int m = w.config().nLatents();
        Csv latents = new Csv("latent", "decoder_norm", "nearest", "nearest_cos", "encoder_decoder_cos");
        for (int i = 0; i < m; i++) {
            latents.row(i, r.decNorm()[i], r.nearest()[i], r.nearestCos()[i], r.encDecCos()[i]);
        }
        latents.write(outDir.resolve("latents.csv"));
        Csv pairs = new Csv("latent_a", "latent_b", "cos");
        for (Pair p : r.duplicates().subList(0, Math.min(MAX_PAIRS, r.duplicates().size()))) {
            pairs.row(p.a(), p.b(), p.cos());
        }
        pairs.write(outDir.resolve("duplicates.csv"));
        java.util.Set<Integer> inPair = new java.util.HashSet<>();
        r.duplicates().forEach(p -> {
            inPair.add(p.a());
            inPair.add(p.b());
        });
        double[] finiteNearest = java.util.Arrays.stream(r.nearestCos()).filter(Double::isFinite).toArray();
        Histogram hn = Histogram.of(finiteNearest, -1, 1, 100);
        Histogram he = Histogram.of(r.encDecCos(), -1, 1, 100);
        ObjectNode s = StudyFiles.object();
        s.put("sae", saeName);
        s.put("n_latents", m);
        s.put("mean_nearest_cos", Distributions.mean(finiteNearest));
        s.put("max_nearest_cos", java.util.Arrays.stream(finiteNearest).max().orElse(Double.NaN));
        s.put("duplicate_threshold", duplicateCos);
        s.put("duplicate_pairs", r.duplicates().size());
        s.put("latents_in_duplicate_pairs", inPair.size());
        s.put("mean_encoder_decoder_cos", Distributions.mean(r.encDecCos()));
        s.set("nearest_cos_histogram", StudyFiles.histogram(hn));
        s.set("encoder_decoder_cos_histogram", StudyFiles.histogram(he));
        StudyFiles.writeJson(outDir.resolve(StudyFiles.SUMMARY), s);
        Plots.histogram(outDir.resolve("nearest-cosine.png"), saeName + ": nearest-neighbour decoder cosine",
                "max_j!=i cos(W_dec[i], W_dec[j])", hn, "latents");
        Plots.histogram(outDir.resolve("encoder-decoder-cosine.png"), saeName + ": encoder/decoder cosine per latent",
                "cos(W_enc[:, i], W_dec[i, :])", he, "latents");
        return r;
    }
}
