package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.data.ShardSet;
import dev.saetrain.data.StreamOptions;
import dev.saetrain.error.BadInputException;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.io.DType;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run killed after a checkpoint and resumed ends with the same bytes as a run never interrupted: weights,
 * sparsity, and every metrics row but its timing fields. The kill is the {@link Faults} seam (it leaves the
 * run directory as a SIGKILL would); cli/ResumeProcessTest kills real processes.
 */
class ResumeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void makeData() throws IOException {
        data = tmp.resolve("d32");
        SynthWriter.write(new SyntheticData(new SynthOptions(32, 64, 3, 0.99, 12_000, 8_192, 0, DType.F32)), data);
    }

    static TrainOptions options(List<SaeConfig> saes, double lr, int epochs, String name, long checkpointEvery) {
        return options(saes, lr, epochs, name, checkpointEvery, StreamOptions.AUTO_ROWS);
    }

    static TrainOptions options(List<SaeConfig> saes, double lr, int epochs, String name, long checkpointEvery,
                                int shuffleRows) {
        return new TrainOptions(saes, 256, lr, epochs, 0, 7, 10_000, 5, false, tmp.resolve("runs"), name, "unknown",
                "unknown", null, null, 1L << 32, false, checkpointEvery, 2, -1, Recipe.DEFAULT, shuffleRows);
    }

    static Trainer.Result train(TrainOptions o, Faults faults) throws IOException {
        try (CpuDevice dev = new CpuDevice(o.threads())) {
            Trainer t = new Trainer(dev, "cpu (test)", o, "test");
            t.setFaults(faults);
            return t.run(ShardSet.open(data));
        }
    }

    static Trainer.Result resume(String name, long maxMemory) throws IOException {
        Path runDir = tmp.resolve("runs").resolve(name);
        ObjectNode config = RunConfig.load(runDir);
        TrainOptions o = RunConfig.trainOptions(config, runDir, maxMemory, false);
        try (CpuDevice dev = new CpuDevice(o.threads())) {
            return new Trainer(dev, "cpu (test)", o, "test").resume(ShardSet.open(data), runDir);
        }
    }

    /** Metrics rows without their timing fields. */
    static List<JsonNode> rows(Path runDir) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            ObjectNode o = (ObjectNode) JSON.readTree(line);
            o.remove("tokens_per_s");
            o.remove("elapsed_s");
            out.add(o);
        }
        return out;
    }

    private static void assertSameRun(String a, String b, List<SaeConfig> saes) throws IOException {
        Path ra = tmp.resolve("runs").resolve(a);
        Path rb = tmp.resolve("runs").resolve(b);
        for (SaeConfig c : saes) {
            for (String f : List.of("sae_weights.safetensors", "sparsity.safetensors")) {
                assertArrayEquals(Files.readAllBytes(ra.resolve("saes").resolve(c.name()).resolve(f)),
                        Files.readAllBytes(rb.resolve("saes").resolve(c.name()).resolve(f)), c.name() + " " + f);
            }
        }
        assertEquals(rows(ra), rows(rb), "metrics rows (timing fields aside)");
    }

    @Test
    void topkFamilyKilledAndResumedIsBitIdentical() throws IOException {
        List<SaeConfig> fam = List.of(SaeConfig.topk(32, 2, 3), SaeConfig.topk(32, 4, 4));
        train(options(fam, Double.NaN, 2, "topk-a", 0), Faults.NONE);
        // 93 steps; checkpoints every 7 steps (1792 tokens); killed at step 40, after the checkpoint of step 35,
        // between log boundaries so the interval in progress and metrics rows past the checkpoint matter.
        TrainOptions ob = options(fam, Double.NaN, 2, "topk-b", 1792);
        assertThrows(Faults.Killed.class, () -> train(ob, Faults.killAfter(38)));
        Path ckpts = tmp.resolve("runs/topk-b/checkpoints");
        assertEquals("step-35", Files.readString(ckpts.resolve("latest")).strip());
        assertTrue(Files.isDirectory(ckpts.resolve("step-28")), "the checkpoint before the latest is kept");
        assertFalse(Files.exists(ckpts.resolve("step-21")), "older checkpoints are pruned");
        assertFalse(Files.exists(tmp.resolve("runs/topk-b/saes")));
        Trainer.Result r = resume("topk-b", 1L << 32);
        assertEquals(Trainer.End.FINISHED, r.end());
        assertSameRun("topk-a", "topk-b", fam);
        JsonNode config = JSON.readTree(tmp.resolve("runs/topk-b/config.json").toFile());
        assertEquals(35, config.at("/resumed/0/from_step").asInt());
    }

    @Test
    void theShuffleBufferIsRecordedAndKeptOnResume() throws IOException {
        // 12000 rows: the automatic buffer holds them all (2^26 / 32 rows at d = 32); 700 rows is another order.
        List<SaeConfig> fam = List.of(SaeConfig.topk(32, 2, 3));
        train(options(fam, Double.NaN, 1, "shuffle-a", 0, 700), Faults.NONE);
        TrainOptions ob = options(fam, Double.NaN, 1, "shuffle-b", 1792, 700);
        assertThrows(Faults.Killed.class, () -> train(ob, Faults.killAfter(38)));
        assertEquals("step-35", Files.readString(tmp.resolve("runs/shuffle-b/checkpoints/latest")).strip());
        assertEquals(Trainer.End.FINISHED, resume("shuffle-b", 1L << 32).end());
        assertSameRun("shuffle-a", "shuffle-b", fam);
        JsonNode config = JSON.readTree(tmp.resolve("runs/shuffle-b/config.json").toFile());
        assertEquals("700", config.at("/options/shuffle_rows").asText());
        assertEquals(700, config.at("/data/shuffle_rows").asInt());

        train(options(fam, Double.NaN, 1, "shuffle-auto", 0), Faults.NONE);
        train(options(fam, Double.NaN, 1, "shuffle-all", 0, StreamOptions.ALL_ROWS), Faults.NONE);
        String weights = "saes/" + fam.get(0).name() + "/sae_weights.safetensors";
        byte[] auto = Files.readAllBytes(tmp.resolve("runs/shuffle-auto").resolve(weights));
        assertArrayEquals(auto, Files.readAllBytes(tmp.resolve("runs/shuffle-all").resolve(weights)),
                "here all is the automatic buffer's size, so the same order");
        assertFalse(java.util.Arrays.equals(auto, Files.readAllBytes(tmp.resolve("runs/shuffle-a").resolve(weights))),
                "a 700-row buffer draws another order");
        JsonNode all = JSON.readTree(tmp.resolve("runs/shuffle-all/config.json").toFile());
        assertEquals("all", all.at("/options/shuffle_rows").asText());
        assertEquals(12_000, all.at("/data/shuffle_rows").asInt());
        assertEquals("auto", JSON.readTree(tmp.resolve("runs/shuffle-auto/config.json").toFile())
                .at("/options/shuffle_rows").asText());
    }

    @Test
    void aRunFromBeforeShuffleRowsResumesWithTheAutomaticBuffer() throws IOException {
        List<SaeConfig> fam = List.of(SaeConfig.topk(32, 2, 3));
        train(options(fam, Double.NaN, 1, "shuffle-old", 0, 700), Faults.NONE);
        Path runDir = tmp.resolve("runs/shuffle-old");
        ObjectNode config = RunConfig.load(runDir);
        ObjectNode options = (ObjectNode) config.get("options");
        options.remove("shuffle_rows");
        assertEquals(StreamOptions.AUTO_ROWS, RunConfig.trainOptions(config, runDir, 1L << 32, false).shuffleRows());
        options.put("shuffle_rows", "often");
        BadInputException e = assertThrows(BadInputException.class,
                () -> RunConfig.trainOptions(config, runDir, 1L << 32, false));
        assertTrue(e.getMessage().contains("'options.shuffle_rows': ") && e.getMessage().contains("'often'"),
                e.getMessage());
        options.put("shuffle_rows", 700);
        assertThrows(BadInputException.class, () -> RunConfig.trainOptions(config, runDir, 1L << 32, false),
                "a number where the file holds text is refused, not read as something else");
    }

    @Test
    void pagedHostWeightsAreInvisibleFromInitToResumeAndExport() throws IOException {
        // Host matrices in pages of 100 floats (W_dec [m, 32]: 3 rows a page; W_enc [32, m]: one row a page), as a
        // dictionary past 2^31 elements has them in pages of 2^28: the init, the checkpoint's matrices streamed back on
        // resume and the export are the bytes of a run that held every matrix whole.
        List<SaeConfig> fam = List.of(SaeConfig.topk(32, 4, 4), SaeConfig.topk(32, 2, 3).withTied(true));
        train(options(fam, Double.NaN, 1, "pages-a", 0), Faults.NONE);
        String old = System.setProperty(dev.saetrain.io.HostMatrix.PAGE_PROPERTY, "100");
        try {
            TrainOptions ob = options(fam, Double.NaN, 1, "pages-b", 1792);
            assertThrows(Faults.Killed.class, () -> train(ob, Faults.killAfter(38)));
            assertEquals("step-35", Files.readString(tmp.resolve("runs/pages-b/checkpoints/latest")).strip());
            assertEquals(Trainer.End.FINISHED, resume("pages-b", 1L << 32).end());
        } finally {
            if (old == null) {
                System.clearProperty(dev.saetrain.io.HostMatrix.PAGE_PROPERTY);
            } else {
                System.setProperty(dev.saetrain.io.HostMatrix.PAGE_PROPERTY, old);
            }
        }
        assertSameRun("pages-a", "pages-b", fam);
    }

    @Test
    void tiedAndResamplingSaesResumeBitIdentical() throws IOException {
        // A tied SAE holds no W_enc and relu-2023 carries its resampler state: the checkpoint keeps whatever the
        // engine's snapshot holds. 46 steps, resampling every 9 (at 9, 18, 27, 36), killed after the checkpoint of
        // step 21 with a resampling still ahead.
        List<SaeConfig> fam = List.of(SaeConfig.topk(32, 2, 3).withTied(true), SaeConfig.relu2023(32, 2, 1.0));
        TrainOptions oa = new TrainOptions(fam, 256, 3e-3, 1, 0, 7, 10_000, 5, false, tmp.resolve("runs"), "tr-a",
                "unknown", "unknown", null, null, 1L << 32, false, 0, 2, 9, Recipe.DEFAULT, 0);
        train(oa, Faults.NONE);
        TrainOptions ob = new TrainOptions(fam, 256, 3e-3, 1, 0, 7, 10_000, 5, false, tmp.resolve("runs"), "tr-b",
                "unknown", "unknown", null, null, 1L << 32, false, 1792, 2, 9, Recipe.DEFAULT, 0);
        assertThrows(Faults.Killed.class, () -> train(ob, Faults.killAfter(24)));
        assertEquals("step-21", Files.readString(tmp.resolve("runs/tr-b/checkpoints/latest")).strip());
        assertEquals(Trainer.End.FINISHED, resume("tr-b", 1L << 32).end());
        assertSameRun("tr-a", "tr-b", fam);
    }

    @Test
    void thresholdSaesResumeBitIdentical() throws IOException {
        // batchtopk carries its threshold estimate, jumprelu its log-threshold parameter and Adam moments.
        List<SaeConfig> fam = List.of(SaeConfig.batchTopk(32, 2, 3), SaeConfig.jumpRelu(32, 2, 1.0));
        train(options(fam, 1e-2, 1, "th-a", 0), Faults.NONE);
        assertThrows(Faults.Killed.class, () -> train(options(fam, 1e-2, 1, "th-b", 1792), Faults.killAfter(24)));
        assertEquals("step-21", Files.readString(tmp.resolve("runs/th-b/checkpoints/latest")).strip());
        assertEquals(Trainer.End.FINISHED, resume("th-b", 1L << 32).end());
        assertSameRun("th-a", "th-b", fam);
        // A few dozen steps at 1e-2 travel well under 7 in log theta at the weights' LR: the threshold's factor is
        // 7 / (lr * steps), recorded in config.json and kept by the resume (same steps, same LR), which the
        // bit-identical run above confirms.
        for (String run : List.of("th-a", "th-b")) {
            ObjectNode config = RunConfig.load(tmp.resolve("runs/" + run));
            double factor = Schedule.standard(config.get("training").get("steps").asLong(), 1e-2, 1.0)
                    .thresholdLrFactor();
            assertTrue(factor > 7, "the run must be short enough for a threshold factor above 7, got " + factor);
            JsonNode saes = config.get("saes");
            assertEquals(factor, saes.get(1).get("threshold_lr_factor").asDouble(), 0, run);
            assertTrue(saes.get(0).get("threshold_lr_factor") == null, "batchtopk has no threshold LR");
        }
    }

    @Test
    void matryoshkaResumesBitIdenticalWithItsGroups() throws IOException {
        // The threshold estimate is the only state beyond the weights; the groups are config, which --resume rebuilds
        // from config.json (custom groups for one SAE, the default for the other).
        List<SaeConfig> fam = List.of(SaeConfig.matryoshka(32, 2, 3).withGroups(List.of(4, 12, 48)),
                SaeConfig.matryoshka(32, 4, 3));
        train(options(fam, 1e-2, 1, "mk-a", 0), Faults.NONE);
        assertThrows(Faults.Killed.class, () -> train(options(fam, 1e-2, 1, "mk-b", 1792), Faults.killAfter(24)));
        Path run = tmp.resolve("runs/mk-b");
        assertEquals("step-21", Files.readString(run.resolve("checkpoints/latest")).strip());
        assertEquals(fam, RunConfig.trainOptions(RunConfig.load(run), run, 1L << 32, false).saes(),
                "config.json gives back the groups");
        assertEquals(Trainer.End.FINISHED, resume("mk-b", 1L << 32).end());
        assertSameRun("mk-a", "mk-b", fam);
    }

    @Test
    void reluCrossingFromDenseToSparseIsBitIdentical() throws IOException {
        List<SaeConfig> fam = List.of(SaeConfig.relu(32, 4, 20));
        train(options(fam, 3e-3, 3, "relu-a", 0), Faults.NONE);
        List<JsonNode> a = rows(tmp.resolve("runs/relu-a"));
        assertTrue(a.get(0).get("dense_steps").asInt() > 0, "starts on the dense path");
        assertEquals(0, a.get(a.size() - 1).get("dense_steps").asInt(), "ends on the sparse path: " + a);
        int firstSparse = 0;
        while (a.get(firstSparse).get("dense_steps").asInt() > 0) {
            firstSparse++;
        }
        long crossing = a.get(firstSparse).get("step").asLong();
        // Killed while still dense, resumed: the crossing happens after the resume, driven by the restored density.
        long killAt = Math.max(2, crossing / 2);
        TrainOptions ob = options(fam, 3e-3, 3, "relu-b", 256L * Math.max(1, killAt / 2));
        assertThrows(Faults.Killed.class, () -> train(ob, Faults.killAfter(killAt)));
        resume("relu-b", 1L << 32);
        assertSameRun("relu-a", "relu-b", fam);
    }

    @Test
    void oneDivergingSaeStopsAloneAndIsNotExported() throws IOException {
        List<SaeConfig> fam = List.of(SaeConfig.topk(32, 2, 3), SaeConfig.topk(32, 4, 4));
        train(options(fam, Double.NaN, 1, "div-a", 0), Faults.NONE);
        Trainer.Result r = train(options(fam, Double.NaN, 1, "div-b", 2560), Faults.poison("x4-k4", 23));
        assertEquals(Trainer.End.FINISHED, r.end());
        assertEquals(List.of("x4-k4 (step 23)"), r.diverged());
        Path run = tmp.resolve("runs/div-b");
        assertFalse(Files.exists(run.resolve("saes/x4-k4")), "a diverged SAE is not exported");
        assertArrayEquals(Files.readAllBytes(tmp.resolve("runs/div-a/saes/x2-k3/sae_weights.safetensors")),
                Files.readAllBytes(run.resolve("saes/x2-k3/sae_weights.safetensors")), "the others train on as before");
        String log = Files.readString(run.resolve("train.log"));
        assertTrue(log.contains("SAE x4-k4 diverged at step 23"), log);
        JsonNode config = JSON.readTree(run.resolve("config.json").toFile());
        assertEquals("x4-k4", config.at("/result/diverged/0/sae").asText());
        assertEquals(23, config.at("/result/diverged/0/step").asInt());
        assertEquals(20, config.at("/result/diverged/0/last_good_checkpoint").asText().isEmpty() ? -1
                : CheckpointStore.stepOf(Path.of(config.at("/result/diverged/0/last_good_checkpoint").asText()
                        .split(" ")[0])));
        // The last good state (step 20) is carried into the final checkpoint, the only ones kept being 40 and 46.
        Path fin = run.resolve("checkpoints/step-46");
        Checkpoint ck = Checkpoint.read(fin);
        assertEquals(20, ck.saes().get(1).divergence().lastGoodStep());
        try (SaeStateFile.Loaded kept = SaeStateFile.read(SaeStateFile.path(fin, "x4-k4"), fam.get(1))) {
            for (var e : kept.allFloats().entrySet()) {
                for (float v : e.getValue()) {
                    assertTrue(Float.isFinite(v), "kept last good state holds a non-finite " + e.getKey());
                }
            }
        }
        assertTrue(Files.isDirectory(run.resolve("checkpoints/step-40")));
        assertFalse(Files.exists(run.resolve("checkpoints/step-20")));
    }

    @Test
    void gatedCrossingFromDenseToSparseIsBitIdentical() throws IOException {
        // gated holds r_mag and b_mag (with Adam moments) beyond the base parameters, and b_enc is named b_gate: the
        // checkpoint keeps whatever the snapshot holds. Killed on the dense path, the crossing comes after the resume.
        List<SaeConfig> fam = List.of(SaeConfig.gated(32, 4, 20));
        train(options(fam, 3e-3, 3, "gated-a", 0), Faults.NONE);
        List<JsonNode> a = rows(tmp.resolve("runs/gated-a"));
        assertTrue(a.get(0).get("dense_steps").asInt() > 0, "starts on the dense path");
        assertEquals(0, a.get(a.size() - 1).get("dense_steps").asInt(), "ends on the sparse path: " + a);
        int firstSparse = 0;
        while (a.get(firstSparse).get("dense_steps").asInt() > 0) {
            firstSparse++;
        }
        long crossing = a.get(firstSparse).get("step").asLong();
        long killAt = Math.max(2, crossing / 2);
        TrainOptions ob = options(fam, 3e-3, 3, "gated-b", 256L * Math.max(1, killAt / 2));
        assertThrows(Faults.Killed.class, () -> train(ob, Faults.killAfter(killAt)));
        resume("gated-b", 1L << 32);
        assertSameRun("gated-a", "gated-b", fam);
    }
}
