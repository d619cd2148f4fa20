package dev.saetrain.cli;

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
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault injection into checkpoints: every kind of damage to the newest checkpoint makes --resume fall back to the
 * previous one with a warning in train.log naming the file, and damage to all of them is refused with one line on
 * stderr naming every file, exit 2, the run directory left as it was. inspect RUN reports the same verdicts.
 *
 * <p>The base run trains 15 steps of 256 rows with a checkpoint every 4 steps, so step-12 and step-15 are kept; its
 * result is removed from config.json so it looks interrupted after its last checkpoint. Resuming from step-15 only
 * exports; falling back to step-12 trains three steps.
 */
class CheckpointFaultTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SAE = "x2-k2.safetensors";

    @TempDir
    static Path tmp;
    static Path base;

    @BeforeAll
    static void interruptedRun() throws IOException {
        Path data = tmp.resolve("d16");
        SynthWriter.write(new SyntheticData(new SynthOptions(16, 32, 3, 0.99, 4_000, 2_048, 0, DType.F32)), data);
        FaultFixture.Outcome r = FaultFixture.run("train", data.toString(), "--out", tmp.resolve("runs").toString(),
                "--name", "base", "--batch", "256", "--expansion", "2", "--k", "2", "--threads", "1", "--checkpoint-every", "1024");
        assertEquals(0, r.code(), r.err());
        base = tmp.resolve("runs/base");
        ObjectNode config = (ObjectNode) JSON.readTree(base.resolve("config.json").toFile());
        config.remove("result");
        Files.writeString(base.resolve("config.json"), config.toString());
        assertTrue(Files.isDirectory(ckpt(base, 12)) && Files.isDirectory(ckpt(base, 15)));
    }

    static Path ckpt(Path run, long step) {
        return run.resolve("checkpoints/step-" + step);
    }

    static Path copy(String name) throws IOException {
        Path dst = tmp.resolve("runs").resolve(name);
        try (Stream<Path> walk = Files.walk(base)) {
            for (Path p : walk.sorted(Comparator.naturalOrder()).toList()) {
                Files.copy(p, dst.resolve(base.relativize(p).toString()));
            }
        }
        // An interrupted run has exported nothing yet; a resume that finishes must write the dictionary.
        try (Stream<Path> walk = Files.walk(dst.resolve("saes"))) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        return dst;
    }

    /** Flips every bit of the byte at {@code at} (negative: from the end). */
    static void flip(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            long pos = at < 0 ? f.length() + at : at;
            f.seek(pos);
            int b = f.read();
            f.seek(pos);
            f.write(b ^ 0xff);
        }
    }

    static void truncate(Path file, long keep) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(keep);
        }
    }

    /** Rewrites checksums.sha256 for the current bytes: damage that a checksum cannot see (an older writer, an edit). */
    static void rehash(Path dir) throws Exception {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.sorted().toList()) {
                String n = f.getFileName().toString();
                if (!n.equals("checksums.sha256")) {
                    sb.append(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))))
                            .append("  ").append(n).append('\n');
                }
            }
        }
        Files.writeString(dir.resolve("checksums.sha256"), sb.toString());
    }

    static void editJson(Path dir, UnaryOperator<ObjectNode> edit) throws Exception {
        Path f = dir.resolve("checkpoint.json");
        Files.writeString(f, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(
                edit.apply((ObjectNode) JSON.readTree(f.toFile()))));
        rehash(dir);
    }

    /** Every file of the run but the lock, with its bytes' hash: "nothing changed" compares two of these. */
    static Map<String, String> tree(Path run) throws Exception {
        Map<String, String> t = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(run)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                if (!p.getFileName().toString().equals("run.lock")) {
                    t.put(run.relativize(p).toString(), HexFormat.of().formatHex(
                            MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
                }
            }
        }
        return t;
    }

    static String oneLine(FaultFixture.Outcome r) {
        String e = r.err().strip();
        assertFalse(e.contains("\n"), "one line expected: " + e);
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertTrue(e.startsWith("error: "), e);
        return e;
    }

    /** Resumes {@code run}; it must fall back to step-12 and finish, with train.log naming {@code why}. */
    static void fallsBack(Path run, String... why) throws IOException {
        FaultFixture.Outcome r = FaultFixture.run("train", "--resume", run.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        JsonNode config = JSON.readTree(run.resolve("config.json").toFile());
        assertEquals(12, config.at("/resumed/0/from_step").asInt(), "fell back to the previous checkpoint");
        assertEquals("finished", config.at("/result/status").asText());
        assertEquals(0, config.at("/result/diverged").size(), "not marked diverged: " + config);
        assertTrue(Files.isRegularFile(run.resolve("saes/x2-k2/sae_weights.safetensors")));
        String log = Files.readString(run.resolve("train.log"));
        assertTrue(log.contains("is not usable"), log);
        for (String w : why) {
            assertTrue(log.contains(w), "train.log should name " + w + ":\n" + log);
        }
    }

    /** Resumes {@code run}; it must be refused in one line naming each of {@code names}, the run left unchanged. */
    static void refused(Path run, String... names) throws Exception {
        Map<String, String> before = tree(run);
        FaultFixture.Outcome r = FaultFixture.run("train", "--resume", run.toString());
        assertEquals(2, r.code(), r.err());
        String e = oneLine(r);
        assertTrue(e.contains("no checkpoint to resume from that verifies (nothing was deleted)"), e);
        for (String n : names) {
            assertTrue(e.contains(n), "the refusal should name " + n + ": " + e);
        }
        assertEquals(before, tree(run), "the run directory is left as it was");
    }

    @Test
    void aFlippedByteInAStateFileFallsBack() throws Exception {
        Path run = copy("flip-state");
        Path state = ckpt(run, 15).resolve(SAE);
        flip(state, Files.size(state) / 2);
        fallsBack(run, state + ": does not match its checksum");
    }

    @Test
    void aFlippedByteInCheckpointJsonFallsBack() throws Exception {
        Path run = copy("flip-json");
        Path json = ckpt(run, 15).resolve("checkpoint.json");
        flip(json, 40);
        fallsBack(run, json + ": does not match its checksum");
    }

    @Test
    void aFlippedByteInTheManifestFallsBack() throws Exception {
        Path run = copy("flip-manifest");
        flip(ckpt(run, 15).resolve("checksums.sha256"), 3);
        fallsBack(run, "step-15");
    }

    @Test
    void aTruncatedStateFileFallsBack() throws Exception {
        Path run = copy("truncated");
        Path state = ckpt(run, 15).resolve(SAE);
        truncate(state, Files.size(state) - 100);
        fallsBack(run, state + ": does not match its checksum");
    }

    @Test
    void aMissingStateFileFallsBack() throws Exception {
        Path run = copy("missing");
        Path state = ckpt(run, 15).resolve(SAE);
        Files.delete(state);
        fallsBack(run, state + ": missing");
    }

    @Test
    void aMissingManifestOfTheCurrentFormatFallsBack() throws Exception {
        Path run = copy("no-manifest");
        Files.delete(ckpt(run, 15).resolve("checksums.sha256"));
        fallsBack(run, "checksums.sha256: missing");
    }

    @Test
    void aLatestPointerToNothingFallsBackToTheNewestThatVerifies() throws Exception {
        Path run = copy("pointer");
        Files.writeString(run.resolve("checkpoints/latest"), "step-99\n");
        Path state = ckpt(run, 15).resolve(SAE);
        flip(state, 100);
        fallsBack(run, "step-99", state + ": does not match");
    }

    @Test
    void wrongTypedAndOutOfRangeFieldsFallBackNamingTheKey() throws Exception {
        Map<String, UnaryOperator<ObjectNode>> edits = new TreeMap<>(Map.of(
                "'step' must be an integer in [0, 15], got \"15\" (a string)", o -> o.put("step", "15"),
                "'metrics_bytes' must be an integer >= 0, got -1", o -> o.put("metrics_bytes", -1),
                "'elapsed_s' is missing", o -> {
                    o.remove("elapsed_s");
                    return o;
                },
                "'batch' must be an integer in [1, 2147483647], got 256.5", o -> o.put("batch", 256.5),
                "'saes[0].interval.sse' must be a finite number >= 0.0, got \"x\"", o -> {
                    ((ObjectNode) o.at("/saes/0/interval")).put("sse", "x");
                    return o;
                },
                "'stream.rows_delivered' must be an integer >= 0, got true", o -> {
                    ((ObjectNode) o.get("stream")).put("rows_delivered", true);
                    return o;
                }));
        int n = 0;
        for (Map.Entry<String, UnaryOperator<ObjectNode>> e : edits.entrySet()) {
            Path run = copy("field-" + n++);
            editJson(ckpt(run, 15), e.getValue());
            fallsBack(run, ckpt(run, 15).resolve("checkpoint.json") + ": " + e.getKey());
        }
    }

    @Test
    void aNaNInAStateFileFallsBackInsteadOfDivergingForGood() throws Exception {
        Path run = copy("nan");
        Path state = ckpt(run, 15).resolve(SAE);
        // The first float of the first tensor's payload: 8-byte length, then the header.
        long header;
        try (RandomAccessFile f = new RandomAccessFile(state.toFile(), "rw")) {
            byte[] len = new byte[8];
            f.readFully(len);
            header = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            f.seek(8 + header);
            f.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(Float.NaN).array());
        }
        rehash(ckpt(run, 15));
        fallsBack(run, state + ": ", "[0] = NaN");
    }

    @Test
    void everyCheckpointDamagedIsRefusedInOneLineAndNothingIsDeleted() throws Exception {
        Path run = copy("all-damaged");
        Path s15 = ckpt(run, 15).resolve(SAE);
        Path j12 = ckpt(run, 12).resolve("checkpoint.json");
        flip(s15, -9);
        editJson(ckpt(run, 12), o -> o.put("step", -12));
        refused(run, s15 + ": does not match its checksum", j12 + ": 'step' must be an integer in [0, 15], got -12");
        // inspect says the same, exit 2, one line.
        FaultFixture.Outcome r = FaultFixture.run("inspect", run.toString());
        assertEquals(2, r.code(), r.err());
        String e = oneLine(r);
        assertTrue(e.contains(ckpt(run, 15).toString()) && e.contains("no older checkpoint verifies"), e);
        assertTrue(r.out().contains("DAMAGED"), r.out());
    }

    @Test
    void aRunWithOnlyAMissingStateFileIsRefused() throws Exception {
        Path run = copy("all-missing");
        Files.delete(ckpt(run, 15).resolve(SAE));
        Files.delete(ckpt(run, 12).resolve(SAE));
        refused(run, ckpt(run, 15).resolve(SAE) + ": missing", ckpt(run, 12).resolve(SAE) + ": missing");
    }

    @Test
    void aCheckpointWrittenBeforeChecksumsStillResumesWithAWarning() throws Exception {
        Path run = copy("legacy");
        for (long step : new long[] {12, 15}) {
            Path dir = ckpt(run, step);
            Files.delete(dir.resolve("checksums.sha256"));
            Path f = dir.resolve("checkpoint.json");
            ObjectNode o = (ObjectNode) JSON.readTree(f.toFile());
            o.put("format", 1);
            Files.writeString(f, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
        }
        FaultFixture.Outcome r = FaultFixture.run("train", "--resume", run.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode config = JSON.readTree(run.resolve("config.json").toFile());
        assertEquals(15, config.at("/resumed/0/from_step").asInt());
        assertTrue(Files.readString(run.resolve("train.log")).contains(ckpt(run, 15)
                + " was written before checkpoints carried checksums"));
        assertArrayEquals(Files.readAllBytes(tmp.resolve("runs/base/saes/x2-k2/sae_weights.safetensors")),
                Files.readAllBytes(run.resolve("saes/x2-k2/sae_weights.safetensors")), "the same dictionary as before");
    }

    @Test
    void inspectListsEveryCheckpointWithItsVerdict() throws Exception {
        FaultFixture.Outcome ok = FaultFixture.run("inspect", base.toString());
        assertEquals(0, ok.code(), ok.err());
        assertEquals("", ok.err());
        assertTrue(ok.out().matches("(?s).*step-15 +15  verified \\(latest\\).*step-12 +12  verified.*"), ok.out());

        Path run = copy("inspect-older");
        Path state = ckpt(run, 12).resolve(SAE);
        flip(state, 64);
        FaultFixture.Outcome older = FaultFixture.run("inspect", run.toString());
        assertEquals(0, older.code(), "only an older checkpoint is damaged: " + older.err());
        assertTrue(older.out().contains("DAMAGED: " + state + ": does not match its checksum"), older.out());

        Path run2 = copy("inspect-newest");
        Path json = ckpt(run2, 15).resolve("checkpoint.json");
        truncate(json, 20);
        Map<String, String> before = tree(run2);
        FaultFixture.Outcome newest = FaultFixture.run("inspect", run2.toString());
        assertEquals(2, newest.code());
        String e = oneLine(newest);
        assertTrue(e.contains(json + ": does not match its checksum") && e.contains("a resume falls back to step-12"), e);
        assertEquals(before, tree(run2), "inspect changes nothing");
    }
}
