package dev.saetrain.cli;

import static dev.saetrain.cli.FaultFixture.assertFailure;
import static dev.saetrain.cli.FaultFixture.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.io.DType;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recipe's options (--warmup, --decay, --b-dec-init, --normalize, --auxk-coef, --adam-eps) reach
 * the training, config.json and cfg.json, a resume keeps them, and leaving them out trains what it always did.
 */
class RecipeOptionsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] ABLATED = {"--warmup", "0.25", "--decay", "0", "--b-dec-init", "zero", "--normalize",
        "none", "--auxk-coef", "0.0625", "--adam-eps", "1e-6"};
    private static final String WEIGHTS = "saes/x2-k2/sae_weights.safetensors";

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void shards() throws IOException {
        data = tmp.resolve("d16");
        SynthWriter.write(new SyntheticData(new SynthOptions(16, 32, 3, 0.99, 4_000, 2_048, 0, DType.F32)), data);
    }

    /** Trains 15 steps of 256 rows (checkpoints every 4 steps) into runs/NAME; returns the run directory. */
    private static Path train(String name, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", data.toString(), "--out", tmp.resolve("runs").toString(),
                "--name", name, "--batch", "256", "--expansion", "2", "--k", "2", "--threads", "1", "--device", "cpu",
                "--dead-tokens", "512", "--checkpoint-every", "1024"));
        a.addAll(List.of(extra));
        FaultFixture.Outcome o = run(a.toArray(String[]::new));
        assertEquals(0, o.code(), o.err());
        return tmp.resolve("runs").resolve(name);
    }

    private static JsonNode json(Path file) throws IOException {
        return JSON.readTree(file.toFile());
    }

    @Test
    void explicitDefaultsTrainByteIdenticalWeights() throws IOException {
        Path plain = train("plain");
        Path explicit = train("explicit", "--warmup", "0", "--decay", "0", "--b-dec-init", "auto",
                "--normalize", "sqrt-d", "--auxk-coef", "0.03125", "--adam-eps", "1e-8");
        assertArrayEquals(Files.readAllBytes(plain.resolve(WEIGHTS)), Files.readAllBytes(explicit.resolve(WEIGHTS)));
        assertEquals(json(plain.resolve("config.json")).get("options"), json(explicit.resolve("config.json")).get("options"));
        // auto is the median for topk.
        assertArrayEquals(Files.readAllBytes(plain.resolve(WEIGHTS)),
                Files.readAllBytes(train("median", "--b-dec-init", "median").resolve(WEIGHTS)));
        assertEquals("median", json(plain.resolve("config.json")).at("/saes/0/b_dec_init").asText());
        JsonNode ours = json(plain.resolve("saes/x2-k2/cfg.json")).at("/metadata/sae_train");
        assertEquals(0, ours.get("lr_warmup_steps").asLong());
        assertEquals(0.0, ours.get("lr_decay_fraction").asDouble());
        assertEquals("median", ours.get("b_dec_init").asText());
        assertEquals("sqrt-d", ours.get("normalize").asText());
        assertEquals(1.0 / 32, ours.get("auxk_coef").asDouble());
        assertEquals(1e-8, ours.get("adam_eps").asDouble());
        assertTrue(ours.get("folded_scale").asDouble() != 1.0, "sqrt-d scales the toy data");
        // A test that cannot fail is a defect: one changed knob changes the weights.
        Path eps = train("eps", "--adam-eps", "1e-3");
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(plain.resolve(WEIGHTS)),
                Files.readAllBytes(eps.resolve(WEIGHTS))));
    }

    @Test
    void reluStartsBDecAtZeroByDefault() throws IOException {
        String[] relu = {"--arch", "relu", "--l1", "0.5"};
        String weights = "saes/x2-l1_0.5/sae_weights.safetensors";
        Path plain = train("relu-plain", relu);
        Path zero = train("relu-zero", concat(relu, "--b-dec-init", "zero"));
        Path median = train("relu-median", concat(relu, "--b-dec-init", "median"));
        assertArrayEquals(Files.readAllBytes(plain.resolve(weights)), Files.readAllBytes(zero.resolve(weights)));
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(plain.resolve(weights)),
                Files.readAllBytes(median.resolve(weights))), "the median start trains other weights");
        JsonNode config = json(plain.resolve("config.json"));
        assertEquals("auto", config.at("/options/b_dec_init").asText());
        assertEquals("zero", config.at("/saes/0/b_dec_init").asText());
        assertEquals("zero", json(plain.resolve("saes/x2-l1_0.5/cfg.json")).at("/metadata/sae_train/b_dec_init")
                .asText());
    }

    @Test
    void applyBDecToInputFalseIsRecordedAndAResumeKeepsIt() throws IOException {
        // b_dec from the median, so that x and x - b_dec differ from the first step.
        String[] relu = {"--arch", "relu", "--l1", "0.5", "--b-dec-init", "median"};
        String weights = "saes/x2-l1_0.5/sae_weights.safetensors";
        Path on = train("centred", relu);
        Path off = train("not-centred", concat(relu, "--apply-b-dec-to-input", "false"));
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(on.resolve(weights)),
                Files.readAllBytes(off.resolve(weights))), "an encoder that sees x trains other weights");
        assertTrue(json(on.resolve("config.json")).at("/saes/0/apply_b_dec_to_input").asBoolean());
        assertFalse(json(off.resolve("config.json")).at("/saes/0/apply_b_dec_to_input").asBoolean());
        assertFalse(json(off.resolve("saes/x2-l1_0.5/cfg.json")).get("apply_b_dec_to_input").asBoolean());

        Path resumed = copyBackTo(off, "not-centred-resumed", 12);
        FaultFixture.Outcome r = run("train", "--resume", resumed.toString(), "--threads", "1", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(Files.readAllBytes(off.resolve(weights)), Files.readAllBytes(resumed.resolve(weights)),
                "the resumed run keeps the encoder's input");
        assertFalse(json(resumed.resolve("saes/x2-l1_0.5/cfg.json")).get("apply_b_dec_to_input").asBoolean());
        assertFailure(run("train", "--resume", resumed.toString(), "--apply-b-dec-to-input", "true"), 2,
                "--apply-b-dec-to-input cannot be combined with --resume");
    }

    private static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }

    @Test
    void ablatedOptionsAreRecordedAndAResumeKeepsThem() throws IOException {
        Path run = train("ablated", ABLATED);
        JsonNode config = json(run.resolve("config.json"));
        JsonNode o = config.get("options");
        assertEquals("0.25", o.get("warmup").asText());
        assertEquals(0.0, o.get("decay").asDouble());
        assertEquals("zero", o.get("b_dec_init").asText());
        assertEquals("none", o.get("normalize").asText());
        assertEquals(0.0625, o.get("auxk_coef").asDouble());
        assertEquals(1e-6, o.get("adam_eps").asDouble());
        assertEquals(1.0, config.at("/data/scale").asDouble(), "--normalize none trains on raw inputs");
        assertEquals(3, config.at("/saes/0/lr_warmup_steps").asLong(), "floor(15 * 0.25)");
        assertEquals(0.0, config.at("/saes/0/lr_decay_fraction").asDouble());
        JsonNode ours = json(run.resolve("saes/x2-k2/cfg.json")).at("/metadata/sae_train");
        assertEquals(3, ours.get("lr_warmup_steps").asLong());
        assertEquals(0.0, ours.get("lr_decay_fraction").asDouble());
        assertEquals("zero", ours.get("b_dec_init").asText());
        assertEquals("none", ours.get("normalize").asText());
        assertEquals(0.0625, ours.get("auxk_coef").asDouble());
        assertEquals(1e-6, ours.get("adam_eps").asDouble());
        assertEquals(1.0, ours.get("folded_scale").asDouble());
        // Constant LR after the warm-up, to the last step.
        List<String> rows = Files.readAllLines(run.resolve("metrics.jsonl"));
        JsonNode last = JSON.readTree(rows.get(rows.size() - 1));
        assertEquals(config.at("/saes/0/lr").asDouble(), last.get("lr").asDouble(), 1e-12);

        // Interrupted copy: back to the checkpoint at step 12, then resumed with no recipe option on the line.
        Path resumed = copyBackTo(run, "ablated-resumed", 12);
        FaultFixture.Outcome r = run("train", "--resume", resumed.toString(), "--threads", "1", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(Files.readAllBytes(run.resolve(WEIGHTS)), Files.readAllBytes(resumed.resolve(WEIGHTS)),
                "the resumed run trains with the recorded recipe, so it ends as the uninterrupted one");
        assertEquals(o, json(resumed.resolve("config.json")).get("options"));
        ObjectNode resumedOurs = (ObjectNode) json(resumed.resolve("saes/x2-k2/cfg.json")).at("/metadata/sae_train");
        assertEquals(ours, resumedOurs.put("run_name", ours.get("run_name").asText()));
    }

    @Test
    void aRecipeOptionIsRefusedWithResume() throws IOException {
        Path run = copyBackTo(train("refuse"), "refuse-copy", 12);
        byte[] before = Files.readAllBytes(run.resolve("config.json"));
        assertFailure(run("train", "--resume", run.toString(), "--decay", "0"), 2, "--decay cannot be combined with --resume");
        assertArrayEquals(before, Files.readAllBytes(run.resolve("config.json")));
    }

    @Test
    void aRunFromBeforeTheseOptionsResumesWithTheOriginalRecipe() throws IOException {
        Path full = train("old", "--warmup", "auto", "--decay", "0.2", "--b-dec-init", "median", "--normalize", "sqrt-d",
                "--auxk-coef", "0.03125", "--adam-eps", "1e-8");
        Path run = copyBackTo(full, "old-copy", 12);
        ObjectNode config = (ObjectNode) json(run.resolve("config.json"));
        ObjectNode o = (ObjectNode) config.get("options");
        for (String k : List.of("warmup", "decay", "b_dec_init", "normalize", "auxk_coef", "adam_eps")) {
            assertTrue(o.has(k), k);
            o.remove(k);
        }
        Files.writeString(run.resolve("config.json"), config.toString());
        FaultFixture.Outcome r = run("train", "--resume", run.toString(), "--threads", "1");
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(Files.readAllBytes(full.resolve(WEIGHTS)), Files.readAllBytes(run.resolve(WEIGHTS)));
    }

    @Test
    void aDamagedRecordedRecipeIsRefusedByItsKey() throws IOException {
        Path run = copyBackTo(train("damaged"), "damaged-copy", 12);
        ObjectNode config = (ObjectNode) json(run.resolve("config.json"));
        ((ObjectNode) config.get("options")).put("warmup", "1.5");
        Files.writeString(run.resolve("config.json"), config.toString());
        // Named by the file's key, which is what the user would fix, not by the option that once set it.
        assertFailure(run("train", "--resume", run.toString()), 2, "'options.warmup': warmup must be auto");
    }

    @Test
    void badValuesAreOneLineAndWriteNothing() {
        String[][] bad = {{"--warmup", "1.5"}, {"--warmup", "-3"}, {"--warmup", "often"}, {"--decay", "-0.1"},
            {"--decay", "1.5"}, {"--b-dec-init", "foo"}, {"--normalize", "l2"}, {"--auxk-coef", "-1"},
            {"--adam-eps", "0"}, {"--apply-b-dec-to-input", "maybe"}};
        for (String[] option : bad) {
            List<String> a = new ArrayList<>(List.of("train", data.toString(), "--out", tmp.resolve("bad").toString(),
                    "--name", "r", "--batch", "256", "--device", "cpu", "--threads", "1"));
            a.addAll(List.of(option));
            assertFailure(run(a.toArray(String[]::new)), 2, option[0]);
            assertFalse(Files.exists(tmp.resolve("bad")), "nothing written for " + String.join(" ", option));
        }
    }

    /**
     * A copy of the finished {@code run} as it stood at its checkpoint of {@code step}: later checkpoints gone,
     * {@code latest} moved back and config.json's result removed.
     */
    private static Path copyBackTo(Path run, String name, int step) throws IOException {
        Path dst = tmp.resolve("runs").resolve(name);
        try (Stream<Path> walk = Files.walk(run)) {
            for (Path p : walk.sorted(Comparator.naturalOrder()).toList()) {
                Files.copy(p, dst.resolve(run.relativize(p).toString()));
            }
        }
        Path checkpoints = dst.resolve("checkpoints");
        assertTrue(Files.isDirectory(checkpoints.resolve("step-" + step)), "checkpoint " + step + " kept");
        try (Stream<Path> list = Files.list(checkpoints)) {
            for (Path p : list.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith("step-") && Integer.parseInt(n.substring(5)) > step) {
                    try (Stream<Path> w = Files.walk(p)) {
                        for (Path q : w.sorted(Comparator.reverseOrder()).toList()) {
                            Files.delete(q);
                        }
                    }
                }
            }
        }
        Files.writeString(checkpoints.resolve("latest"), "step-" + step + "\n");
        try (Stream<Path> w = Files.walk(dst.resolve("saes"))) {
            for (Path q : w.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
        ObjectNode config = (ObjectNode) json(dst.resolve("config.json"));
        config.remove("result");
        Files.writeString(dst.resolve("config.json"), config.toString());
        return dst;
    }
}
