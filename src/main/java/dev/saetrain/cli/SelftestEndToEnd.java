package dev.saetrain.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.analysis.FeatureRecovery;
import dev.saetrain.export.SaeLensReader;
import dev.saetrain.io.DType;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/**
 * The selftest's end-to-end run: TrainEndToEndTest's TopK recovery run, through {@code sae-train synth} data and
 * {@code sae-train train} on the chosen device, in a temporary folder removed after. Toy data with known features
 * (Sharkey, Braun and Millidge 2022): d = 64, 128 features, 3 active per row, 120k rows; TopK k = 3, x4, batch
 * 1024, 4 epochs. It passes on the tests' bar: mean max cosine of the true features to the decoder rows >= 0.9
 * and the final FVU below 0.2; it also reports the fraction of true features matched at cosine >= 0.9.
 */
final class SelftestEndToEnd {
    static final double MIN_MEAN_MAX_COS = 0.9;
    static final double MAX_FVU = 0.2;

    /** What the run reached; {@code failure} is the train command's error when it did not finish. */
    record Result(double fvu, double l0, double meanMaxCos, double fractionAbove, double seconds, String failure) {
        boolean passed() {
            return failure == null && meanMaxCos >= MIN_MEAN_MAX_COS && fvu < MAX_FVU;
        }
    }

    private SelftestEndToEnd() {
    }

    static Result run(String device, int threads) throws IOException {
        Path tmp = Files.createTempDirectory("sae-train-selftest-");
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        Level level = root.getLevel();
        long t0 = System.nanoTime();
        try {
            Path data = tmp.resolve("synth");
            SynthWriter.write(new SyntheticData(new SynthOptions(64, 128, 3, 0.99, 120_000, 65_536, 0, DType.F16)), data);
            StringWriter err = new StringWriter();
            // The run's own log lines would bury the selftest's table; errors still come back through err.
            root.setLevel(Level.WARN);
            int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "train",
                    data.toString(), "--k", "3", "--expansion", "4", "--batch", "1024", "--epochs", "4", "--threads",
                    Integer.toString(threads), "--out", tmp.resolve("runs").toString(), "--name", "e2e",
                    "--log-every", "20", "--device", device);
            root.setLevel(level);
            double secs = (System.nanoTime() - t0) / 1e9;
            if (code != 0) {
                String why = err.toString().trim();
                return new Result(Double.NaN, Double.NaN, Double.NaN, Double.NaN, secs, "train exited " + code + ": "
                        + (why.isEmpty() ? "(no message)" : why.split("\n")[0]));
            }
            List<String> rows = Files.readAllLines(tmp.resolve("runs/e2e/metrics.jsonl"));
            JsonNode last = new ObjectMapper().readTree(rows.get(rows.size() - 1));
            SaeLensReader.Loaded sae = SaeLensReader.read(tmp.resolve("runs/e2e/saes/x4-k3"));
            float[] truth = FeatureRecovery.readGroundTruth(data.resolve(SynthWriter.GROUND_TRUTH_FILE), 64);
            FeatureRecovery.Result r = FeatureRecovery.compute(sae.weights(), truth);
            return new Result(last.path("fvu").asDouble(Double.NaN), last.path("l0").asDouble(Double.NaN),
                    r.meanMaxCos(), r.fractionAbove(FeatureRecovery.GOOD), secs, null);
        } finally {
            root.setLevel(level);
            deleteTree(tmp);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
