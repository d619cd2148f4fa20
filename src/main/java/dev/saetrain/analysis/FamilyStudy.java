package dev.saetrain.analysis;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Studies of a family of dictionaries trained on the same activations (same d_in), ordered by size:
 * <ul>
 *   <li>Feature splitting (Bricken et al. 2023, "Towards Monosemanticity", "Feature splitting"): for each latent of
 *       a larger dictionary, its nearest latent by decoder cosine in each smaller one ({@code nearest.csv}); between
 *       consecutive sizes, each latent of the smaller dictionary is the parent of the latents of the next larger one
 *       whose nearest latent it is, which gives split trees rooted at the smallest dictionary's latents
 *       ({@code split-trees.json}, {@code splits.csv}).</li>
 *   <li>The L0 vs FVU frontier: one point per dictionary (measured by {@link FeatureStats} on the same sample),
 *       the Pareto-optimal ones (no other with both lower-or-equal L0 and FVU, one strictly) joined
 *       ({@code frontier.csv}, {@code frontier.png}).</li>
 * </ul>
 */
public final class FamilyStudy {
    /** The study's folder name. */
    public static final String STUDY = "family";
    private static final Logger LOG = LoggerFactory.getLogger(FamilyStudy.class);

    /**
     * One dictionary of the family.
     *
     * @param l0  mean active latents per row on the sample, or NaN if not measured
     * @param fvu fraction of variance unexplained on the sample, or NaN
     */
    public record Member(String name, SaeWeights weights, double l0, double fvu) {
        int nLatents() {
            return weights.config().nLatents();
        }
    }

    /**
     * @param members  sorted by number of latents (then as given)
     * @param nearest  nearest[l][s] = for each latent of member l, its nearest latent in member s (s < l), [m_l]
     * @param nearestCos the matching cosines
     * @param frontier frontier[i]: member i is Pareto-optimal in (L0, FVU); all false when not measured
     */
    public record Result(List<Member> members, int[][][] nearest, double[][][] nearestCos, boolean[] frontier) {
        /** The children of latent {@code parent} of member s in member s + 1, in increasing order. */
        public List<Integer> children(int s, int parent) {
            return childLists(s).get(parent);
        }

        /** For each latent of member s, its children in member s + 1. */
        public List<List<Integer>> childLists(int s) {
            List<List<Integer>> c = new ArrayList<>();
            for (int p = 0; p < members.get(s).nLatents(); p++) {
                c.add(new ArrayList<>());
            }
            int[] parent = nearest[s + 1][s];
            for (int i = 0; i < parent.length; i++) {
                c.get(parent[i]).add(i);
            }
            return c;
        }
    }

    private FamilyStudy() {
    }

    public static Result compute(List<Member> given) {
        if (given.size() < 2) {
            throw new UsageException("a family study needs at least two dictionaries, got " + given.size());
        }
        List<Member> members = new ArrayList<>(given);
        members.sort((a, b) -> Integer.compare(a.nLatents(), b.nLatents()));
        int d = members.get(0).weights().config().dIn();
        for (Member mb : members) {
            if (mb.weights().config().dIn() != d) {
                throw new UsageException("dictionaries " + members.get(0).name() + " (d_in " + d + ") and "
                        + mb.name() + " (d_in " + mb.weights().config().dIn() + ") do not read the same activations;"
                        + " a family study compares dictionaries of one hook");
            }
        }
        int n = members.size();
        double[][] unit = new double[n][];
        for (int i = 0; i < n; i++) {
            // Decoder rows matched across members (nearest neighbours over all rows): each a whole matrix.
            unit[i] = Cosines.unitRows(members.get(i).weights().wDec().toArray("the family study's decoder matching ("
                    + members.get(i).name() + ")"), members.get(i).nLatents(), d);
        }
        int[][][] nearest = new int[n][][];
        double[][][] cos = new double[n][][];
        for (int l = 0; l < n; l++) {
            nearest[l] = new int[l][];
            cos[l] = new double[l][];
            for (int s = 0; s < l; s++) {
                cos[l][s] = new double[members.get(l).nLatents()];
                nearest[l][s] = Cosines.nearest(unit[l], members.get(l).nLatents(), unit[s], members.get(s).nLatents(),
                        d, false, cos[l][s]);
            }
        }
        boolean[] frontier = new boolean[n];
        for (int i = 0; i < n; i++) {
            Member a = members.get(i);
            if (Double.isNaN(a.l0()) || Double.isNaN(a.fvu())) {
                continue;
            }
            boolean dominated = false;
            for (Member b : members) {
                if (b != a && !Double.isNaN(b.l0()) && b.l0() <= a.l0() && b.fvu() <= a.fvu()
                        && (b.l0() < a.l0() || b.fvu() < a.fvu())) {
                    dominated = true;
                }
            }
            frontier[i] = !dominated;
        }
        return new Result(members, nearest, cos, frontier);
    }

    public static Result run(List<Member> given, Path outDir) throws IOException {
        Result r = compute(given);
        List<Member> ms = r.members();
        int n = ms.size();
        Csv near = new Csv("larger", "larger_latent", "smaller", "smaller_latent", "cos");
        for (int l = 0; l < n; l++) {
            for (int s = 0; s < l; s++) {
                for (int i = 0; i < ms.get(l).nLatents(); i++) {
                    near.row(ms.get(l).name(), i, ms.get(s).name(), r.nearest()[l][s][i], r.nearestCos()[l][s][i]);
                }
            }
        }
        near.write(outDir.resolve("nearest.csv"));
        Csv splits = new Csv("smaller", "parent", "larger", "children", "child_latents", "mean_child_cos");
        ObjectNode s = StudyFiles.object();
        ArrayNode pairs = s.putArray("consecutive");
        for (int k = 0; k + 1 < n; k++) {
            int split = 0;
            int childless = 0;
            int maxChildren = 0;
            List<List<Integer>> lists = r.childLists(k);
            for (int p = 0; p < ms.get(k).nLatents(); p++) {
                List<Integer> ch = lists.get(p);
                double mc = 0;
                for (int c : ch) {
                    mc += r.nearestCos()[k + 1][k][c];
                }
                splits.row(ms.get(k).name(), p, ms.get(k + 1).name(), ch.size(),
                        String.join(";", ch.stream().map(String::valueOf).toList()), ch.isEmpty() ? "" : mc / ch.size());
                split += ch.size() >= 2 ? 1 : 0;
                childless += ch.isEmpty() ? 1 : 0;
                maxChildren = Math.max(maxChildren, ch.size());
            }
            ObjectNode o = pairs.addObject();
            o.put("smaller", ms.get(k).name());
            o.put("larger", ms.get(k + 1).name());
            o.put("mean_nearest_cos", Distributions.mean(r.nearestCos()[k + 1][k]));
            o.put("parents_split", split);
            o.put("parents_without_children", childless);
            o.put("max_children", maxChildren);
        }
        splits.write(outDir.resolve("splits.csv"));
        ArrayNode roots = StudyFiles.JSON.createArrayNode();
        List<List<List<Integer>>> all = new ArrayList<>();
        for (int k = 0; k + 1 < n; k++) {
            all.add(r.childLists(k));
        }
        for (int p = 0; p < ms.get(0).nLatents(); p++) {
            roots.add(tree(r, all, 0, p, Double.NaN));
        }
        StudyFiles.writeJson(outDir.resolve("split-trees.json"), roots);
        ArrayNode mem = s.putArray("members");
        Csv front = new Csv("sae", "n_latents", "l0", "fvu", "on_frontier");
        List<Double> fx = new ArrayList<>();
        List<Double> fy = new ArrayList<>();
        List<Double> ax = new ArrayList<>();
        List<Double> ay = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Member m = ms.get(i);
            ObjectNode o = mem.addObject();
            o.put("sae", m.name());
            o.put("n_latents", m.nLatents());
            o.put("l0", m.l0());
            o.put("fvu", m.fvu());
            o.put("on_frontier", r.frontier()[i]);
            front.row(m.name(), m.nLatents(), m.l0(), m.fvu(), r.frontier()[i]);
            if (!Double.isNaN(m.l0()) && !Double.isNaN(m.fvu())) {
                ax.add(m.l0());
                ay.add(m.fvu());
            }
        }
        List<Integer> onFront = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (r.frontier()[i]) {
                onFront.add(i);
            }
        }
        onFront.sort((a, b) -> Double.compare(ms.get(a).l0(), ms.get(b).l0()));
        for (int i : onFront) {
            fx.add(ms.get(i).l0());
            fy.add(ms.get(i).fvu());
        }
        front.write(outDir.resolve("frontier.csv"));
        StudyFiles.writeJson(outDir.resolve(StudyFiles.SUMMARY), s);
        if (ax.isEmpty()) {
            LOG.info("family: no L0 / FVU measured (no shards given), so no frontier plot");
        } else {
            Map<String, Plots.Series> series = new LinkedHashMap<>();
            for (Member m : ms) {
                if (!Double.isNaN(m.l0()) && !Double.isNaN(m.fvu())) {
                    series.put(m.name(), Plots.Series.scatter(new double[] {m.l0()}, new double[] {m.fvu()}));
                }
            }
            series.put("Pareto frontier", Plots.Series.line(unbox(fx), unbox(fy)));
            boolean logX = ax.stream().allMatch(v -> v > 0);
            Plots.xy(outDir.resolve("frontier.png"), "L0 vs FVU (" + n + " dictionaries)", "L0 (active latents per row)",
                    "FVU", logX, false, series);
        }
        return r;
    }

    private static ObjectNode tree(Result r, List<List<List<Integer>>> all, int s, int latent, double cos) {
        ObjectNode o = StudyFiles.object();
        o.put("sae", r.members().get(s).name());
        o.put("latent", latent);
        if (!Double.isNaN(cos)) {
            o.put("cos", cos);
        }
        if (s + 1 < r.members().size()) {
            ArrayNode ch = o.putArray("children");
            for (int c : all.get(s).get(latent)) {
                ch.add(tree(r, all, s + 1, c, r.nearestCos()[s + 1][s][c]));
            }
        }
        return o;
    }

    private static double[] unbox(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
