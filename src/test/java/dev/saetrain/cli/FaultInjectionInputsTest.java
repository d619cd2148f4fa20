package dev.saetrain.cli;

import static dev.saetrain.cli.FaultFixture.assertFailure;
import static dev.saetrain.cli.FaultFixture.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.saetrain.error.BadInputException;
import dev.saetrain.io.SafetensorsReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Inputs that would hang (a FIFO) or vanish (dangling links, link loops, hidden staging
 * folders) are named, hostile safetensors headers are refused as the reference implementation refuses them, and an
 * object-dtype npy is not blamed on its byte order. Each refusal is one line, exit 2, and writes nothing.
 */
class FaultInjectionInputsTest {
    @TempDir
    Path tmp;

    private FaultFixture.Outcome train(Path data) {
        return run("train", data.toString(), "--batch", "64", "--expansion", "2", "--k", "4", "--threads", "1",
                "--device", "cpu", "--out", tmp.resolve("runs").toString(), "--name", "r");
    }

    private void assertNoRun() {
        assertFalse(Files.exists(tmp.resolve("runs/r")), "no run directory");
    }

    private Path fifo(Path p) {
        assumeTrue(FaultFixture.sh("mkfifo", p.toString()) == 0, "mkfifo is not available here: no FIFO to test with");
        return p;
    }

    @Test
    void aFifoGivenAsTheDataIsRefusedInsteadOfBlocking() throws IOException {
        Files.createDirectories(tmp.resolve("d"));
        Path f = fifo(tmp.resolve("d/shard.npy"));
        FaultFixture.Outcome o = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> train(f));
        assertFailure(o, 2, f.toString(), "FIFO");
        assertNoRun();
    }

    @Test
    void aFifoInsideAShardDirectoryIsRefusedByName() throws IOException {
        Path dir = FaultFixture.shard(tmp.resolve("d/a.npy"), 256, 8, 1).getParent();
        Path f = fifo(dir.resolve("b.npy"));
        FaultFixture.Outcome o = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> train(dir));
        assertFailure(o, 2, f.toString(), "FIFO");
        assertNoRun();
    }

    @Test
    void aFifoAsTheVocabularyIsRefusedBeforeAnyStudy() throws IOException {
        Path sae = FaultFixture.dictionary(tmp.resolve("run/saes/x1"), 8, 16, 3);
        Path wU = FaultFixture.shard(tmp.resolve("wu/w_u.npy"), 8, 32, 4);
        Path vocab = fifo(tmp.resolve("vocab.txt"));
        FaultFixture.Outcome o = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> run("logit-lens",
                sae.toString(), "--unembed", wU.toString(), "--vocab", vocab.toString(), "--out",
                tmp.resolve("out").toString()));
        assertFailure(o, 2, vocab.toString(), "--vocab");
        assertFalse(Files.exists(tmp.resolve("out")), "nothing written");
    }

    @Test
    void aDanglingLinkInAShardDirectoryIsNamedNotSkipped() throws IOException {
        Path dir = FaultFixture.shard(tmp.resolve("d/a.npy"), 256, 8, 1).getParent();
        Files.createSymbolicLink(dir.resolve("b.npy"), tmp.resolve("gone.npy"));
        assertFailure(train(dir), 2, dir.resolve("b.npy").toString(), "dangling symbolic link");
        assertNoRun();
    }

    @Test
    void aSymlinkLoopInAShardDirectoryIsNamedNotSkipped() throws IOException {
        Path dir = FaultFixture.shard(tmp.resolve("d/a.npy"), 256, 8, 1).getParent();
        Files.createSymbolicLink(dir.resolve("b.npy"), dir.resolve("c.npy"));
        Files.createSymbolicLink(dir.resolve("c.npy"), dir.resolve("b.npy"));
        assertFailure(train(dir), 2, dir.resolve("b.npy").toString(), "symbolic link loop");
        assertNoRun();
    }

    @Test
    void aDanglingLinkGivenAsTheDataSaysSo() {
        Path link = tmp.resolve("link.npy");
        try {
            Files.createSymbolicLink(link, tmp.resolve("nowhere.npy"));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        assertFailure(train(link), 2, link.toString(), "dangling symbolic link");
        assertNoRun();
    }

    @ParameterizedTest
    @ValueSource(strings = {"|O", "<O"})
    void anObjectArrayIsNotBlamedOnItsByteOrder(String descr) throws IOException {
        Path f = FaultFixture.npy(tmp.resolve("d/a.npy"), "{'descr': '" + descr + "', 'fortran_order': False, "
                + "'shape': (4, 2), }", new byte[64]);
        FaultFixture.Outcome o = train(f.getParent());
        assertFailure(o, 2, f.toString(), "object array");
        assertFalse(o.err().contains("byte order"), o.err());
        assertNoRun();
    }

    @Test
    void anIntegerArrayIsNotBlamedOnItsByteOrder() throws IOException {
        Path f = FaultFixture.npy(tmp.resolve("d/a.npy"), "{'descr': '|u1', 'fortran_order': False, "
                + "'shape': (4, 2), }", new byte[8]);
        FaultFixture.Outcome o = train(f.getParent());
        assertFailure(o, 2, f.toString(), "not a float array");
        assertFalse(o.err().contains("byte order"), o.err());
    }

    /** 32 F32 values [4, 8] as the payload of a one-tensor file. */
    private static final byte[] PAYLOAD = new byte[128];

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"activations\":{\"dtype\":\"F32\",\"shape\":[4.0,8],\"data_offsets\":[0,128]}}",
        "{\"activations\":{\"dtype\":\"F32\",\"shape\":[\"4\",8],\"data_offsets\":[0,128]}}",
        "{\"activations\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[0.0,128]}}",
        "{\"activations\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[0,128.5]}}",
        "{\"activations\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[-1,127]}}",
        "{\"activations\":{\"dtype\":\"F32\",\"shape\":[2,8],\"data_offsets\":[0,64]},"
                + "\"other\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[0,128]}}",
        "{\"activations\":{\"dtype\":\"F32\",\"shape\":[2,8],\"data_offsets\":[64,128]},"
                + "\"other\":{\"dtype\":\"F32\",\"shape\":[2,8],\"data_offsets\":[32,96]}}",
        "{\"activations\":{\"dtype\":\"F32\",\"shape\":[3,8],\"data_offsets\":[0,96]}}",
        "{\"activations\":{\"dtype\":\"F32\",\"shape\":[2,8],\"data_offsets\":[64,128]}}",
        "{\"activations\":{\"dtype\":\"F32\",\"shape\":[2,8],\"data_offsets\":[64,128]},"
                + "\"other\":{\"dtype\":\"F32\",\"shape\":[1,8],\"data_offsets\":[0,32]}}"})
    void aHostileSafetensorsHeaderIsRefusedByBothReaders(String header) throws IOException {
        Path f = FaultFixture.safetensors(tmp.resolve("d/a.safetensors"), header, PAYLOAD);
        assertFailure(train(f.getParent()), 2, f.toString(), "safetensors");
        assertNoRun();
        BadInputException e = assertThrows(BadInputException.class, () -> SafetensorsReader.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    }

    @Test
    void aWellFormedSafetensorsFileIsStillRead() throws IOException {
        Path f = FaultFixture.safetensors(tmp.resolve("d/a.safetensors"), "{\"b\":{\"dtype\":\"F32\",\"shape\":[2,8],"
                + "\"data_offsets\":[64,128]},\"a\":{\"dtype\":\"F32\",\"shape\":[2,8],\"data_offsets\":[0,64]}}",
                PAYLOAD);
        assertEquals(2, SafetensorsReader.read(f).tensors().size(), "tensors listed out of offset order are fine");
    }

    @Test
    void aDamagedDictionaryIsBadInputNotAnIoFailure() throws IOException {
        Path sae = FaultFixture.dictionary(tmp.resolve("saes/x1"), 8, 16, 3);
        Path w = sae.resolve("sae_weights.safetensors");
        Files.write(w, "junk".getBytes(StandardCharsets.US_ASCII), java.nio.file.StandardOpenOption.APPEND);
        assertFailure(run("export", sae.toString(), "--format", "npy", "--out", tmp.resolve("out").toString()), 2,
                w.toString(), "trailing");
        assertFalse(Files.exists(tmp.resolve("out")), "nothing exported");
    }

    @Test
    void aHiddenStagingFolderUnderSaesIsSkippedWithAWarning() throws IOException {
        Path run = tmp.resolve("run");
        FaultFixture.dictionary(run.resolve("saes/x1"), 8, 16, 3);
        FaultFixture.dictionary(run.resolve("saes/.x2.tmp-abc"), 8, 32, 4);
        FaultFixture.Outcome o = run("export", run.toString(), "--format", "npy", "--out",
                tmp.resolve("out").toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.err().contains("warning: skipped " + run.resolve("saes/.x2.tmp-abc")), o.err());
        assertTrue(Files.isDirectory(tmp.resolve("out/x1")));
        try (var s = Files.list(tmp.resolve("out"))) {
            assertEquals(1, s.count(), "only the finished dictionary is exported");
        }
    }
}
