package dev.saetrain.analysis;

import static dev.saetrain.error.Setting.ANALYSIS_ROWS;
import static dev.saetrain.error.Setting.DUPLICATE_COS;
import static dev.saetrain.error.Setting.SHARDS;

import dev.saetrain.data.ShardSet;
import dev.saetrain.error.UsageException;
import dev.saetrain.export.SaeLensReader;
import dev.saetrain.io.CountProperty;
import dev.saetrain.io.HostMatrix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@code sae-train analyze} runs: for each dictionary, feature statistics (when shards are given), decoder
 * geometry and feature recovery (when ground truth is given); for two or more dictionaries of one d_in, the family
 * study; then the report. Each study writes into {@code <out>/<study>/<sae>/} ({@code <out>/family/} for the family),
 * and the report is built from whatever study folders are there.
 */
public final class Analysis {
    private static final Logger LOG = LoggerFactory.getLogger(Analysis.class);

    /**
     * @param saeDirs      the dictionary folders (from {@link SaeLensReader#findSaeDirs(Path, java.util.function.Consumer)})
     * @param shards       shard directory for the statistics and the frontier, or null to skip them
     * @param maxRows      rows sampled from the shards
     * @param groundTruth  true features [features, d] (.npy / .safetensors), or null to skip recovery
     * @param duplicateCos near-duplicate threshold on the decoder cosine
     * @param outDir       the analysis folder
     * @param reportDir    the report folder, or null for no report
     * @param title        the report's title
     * @param extraStudies   more per-dictionary studies, run after the built-in ones (see {@link ExtraStudy})
     */
    public record Options(List<Path> saeDirs, Path shards, long maxRows, Path groundTruth, double duplicateCos,
                          Path outDir, Path reportDir, String title, List<ExtraStudy> extraStudies) {
        public Options {
            extraStudies = List.copyOf(extraStudies);
            if (saeDirs.isEmpty()) {
                throw new IllegalArgumentException("no dictionary to analyse");
            }
            if (maxRows < 1) {
                throw new UsageException(ANALYSIS_ROWS, "must be >= 1, got " + maxRows);
            }
            if (!(duplicateCos > -1 && duplicateCos <= 1)) {
                throw new UsageException(DUPLICATE_COS, "must be in (-1, 1], got " + duplicateCos);
            }
        }
    }

    /** A per-dictionary study written elsewhere: {@code run(sae, dir)} writes into {@code dir} and returns a line. */
    @FunctionalInterface
    public interface StudyCall {
        String run(SaeLensReader.Loaded sae, Path dir) throws IOException;
    }

    /**
     * A study the caller adds (for example the logit lens when {@code --unembed} is given), run for each dictionary
     * into {@code <out>/<study>/<sae>/}, so the report picks it up.
     */
    public record ExtraStudy(String study, StudyCall call) {
    }

    /** One line per study run, for the command's output. */
    public record Outcome(List<String> lines, Path report) {
    }

    /**
     * System property that lowers the largest decoder the all-rows studies take (tests: a small dictionary then takes
     * the path of one past a Java array, which would need 8 GiB of floats).
     */
    static final String WHOLE_FLOATS_PROPERTY = "saetrain.analysisWholeFloats";

    private Analysis() {
    }

    /** The largest decoder, in floats, that the all-rows studies take: one Java array, or the property's value. */
    static long wholeDecoderFloats() {
        long forced = CountProperty.get(WHOLE_FLOATS_PROPERTY, "a float count", HostMatrix.MAX_ARRAY);
        return Math.min(HostMatrix.MAX_ARRAY, forced);
    }

    public static Outcome run(Options o) throws IOException {
        List<String> lines = new ArrayList<>();
        List<SaeLensReader.Loaded> saes = new ArrayList<>();
        for (Path dir : o.saeDirs()) {
            saes.add(SaeLensReader.read(dir));
        }
        ShardSet shards = o.shards() == null ? null : ShardSet.open(o.shards());
        List<FamilyStudy.Member> members = new ArrayList<>();
        for (SaeLensReader.Loaded sae : saes) {
            String name = sae.name();
            double l0 = Double.NaN;
            double fvu = Double.NaN;
            if (shards != null) {
                FeatureStats.Result r = FeatureStats.run(name, sae.weights(), shards, o.maxRows(),
                        o.outDir().resolve(FeatureStats.STUDY).resolve(name));
                l0 = r.l0();
                fvu = r.fvu();
                lines.add(String.format(Locale.ROOT, "%s %s: %d rows, L0 %.3g, FVU %.4g, dead %d, dense %d, ultra-low %d",
                        FeatureStats.STUDY, name, r.rows(), l0, fvu, r.dead(), r.dense(), r.ultralow()));
            }
            // The geometry, the recovery and the family matching compare every decoder row with every other (m^2 d
            // products) over one array of unit rows; a decoder past a Java array (d_in * d_sae > 2^31 - 9, e.g.
            // d_in 4096 at x128) is left out of them, named; the studies that read rows one by one still run.
            long limit = wholeDecoderFloats();
            String whole = sae.weights().wDec().size() <= limit ? null : String.format(Locale.ROOT,
                    "skipped: its decoder has %d floats (d_in %d x d_sae %d), more than the %d one array holds, "
                            + "and this study compares all rows with all rows", sae.weights().wDec().size(),
                    sae.weights().config().dIn(), sae.weights().config().nLatents(), limit);
            if (whole != null) {
                LOG.warn("{} {}: {}", DecoderGeometry.STUDY, name, whole);
                lines.add(DecoderGeometry.STUDY + " " + name + ": " + whole);
            } else {
                DecoderGeometry.Result g = DecoderGeometry.run(name, sae.weights(), o.duplicateCos(),
                        o.outDir().resolve(DecoderGeometry.STUDY).resolve(name));
                lines.add(String.format(Locale.ROOT, "%s %s: mean nearest-neighbour cos %.3f, %d pairs with cos >= "
                                + "%.2f, mean encoder/decoder cos %.3f", DecoderGeometry.STUDY, name,
                        Distributions.mean(g.nearestCos()), g.duplicates().size(), o.duplicateCos(),
                        Distributions.mean(g.encDecCos())));
            }
            if (o.groundTruth() != null && whole != null) {
                LOG.warn("{} {}: {}", FeatureRecovery.STUDY, name, whole);
                lines.add(FeatureRecovery.STUDY + " " + name + ": " + whole);
            } else if (o.groundTruth() != null) {
                FeatureRecovery.Result f = FeatureRecovery.run(name, sae.weights(), o.groundTruth(),
                        o.outDir().resolve(FeatureRecovery.STUDY).resolve(name));
                lines.add(String.format(Locale.ROOT, "%s %s: %d true features, mean max cos %.4f, %.1f %% >= 0.9,"
                                + " %.1f %% >= 0.99", FeatureRecovery.STUDY, name, f.best().length, f.meanMaxCos(),
                        100 * f.fractionAbove(FeatureRecovery.GOOD), 100 * f.fractionAbove(FeatureRecovery.EXCELLENT)));
            }
            for (ExtraStudy extra : o.extraStudies()) {
                lines.add(extra.call().run(sae, o.outDir().resolve(extra.study()).resolve(name)));
            }
            if (whole == null) {
                members.add(new FamilyStudy.Member(name, sae.weights(), l0, fvu));
            } else {
                LOG.warn("{}: {} is left out: {}", FamilyStudy.STUDY, name, whole);
            }
        }
        if (members.size() >= 2) {
            int d = members.get(0).weights().config().dIn();
            if (members.stream().allMatch(m -> m.weights().config().dIn() == d)) {
                FamilyStudy.Result fr = FamilyStudy.run(members, o.outDir().resolve(FamilyStudy.STUDY));
                long onFrontier = 0;
                for (boolean b : fr.frontier()) {
                    onFrontier += b ? 1 : 0;
                }
                lines.add(String.format(Locale.ROOT, "%s: %d dictionaries, %s", FamilyStudy.STUDY, members.size(),
                        shards == null ? "no frontier (no shards)" : onFrontier + " on the L0/FVU frontier"));
            } else {
                LOG.info("family study skipped: the dictionaries have different d_in (they read different hooks)");
            }
        }
        Path report = null;
        if (o.reportDir() != null) {
            int n = Report.build(o.outDir(), o.reportDir(), o.title());
            report = o.reportDir().resolve(Report.INDEX);
            lines.add("report: " + report + " (" + n + " sections)");
        }
        return new Outcome(lines, report);
    }

    /** The shard directory a run was trained on (config.json's data.path), or null if the run has none recorded. */
    public static Path runShards(Path runDir) throws IOException {
        Path cfg = runDir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) {
            return null;
        }
        com.fasterxml.jackson.databind.JsonNode node;
        try {
            node = StudyFiles.JSON.readTree(cfg.toFile()).path("data");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new dev.saetrain.error.BadInputException(cfg, "invalid JSON (" + e.getOriginalMessage()
                    + "); give the shards with ", SHARDS, " DIR");
        }
        for (String key : List.of("absolute_path", "path")) {
            if (node.hasNonNull(key) && Files.exists(Path.of(node.get(key).asText()))) {
                return Path.of(node.get(key).asText());
            }
        }
        LOG.info("{} names no shard directory that exists now (data.path)", cfg);
        return null;
    }
}
