package dev.saetrain.cli;

import static dev.saetrain.cli.FaultFixture.assertFailure;
import static dev.saetrain.cli.FaultFixture.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outputs when the machine refuses them: a command that writes several outputs checks them all before the
 * first, and a read-only or full output is exit 3 in one line with nothing half-written left behind.
 */
class FaultInjectionOutputsTest {
    @TempDir
    Path tmp;
    private final List<Path> mounts = new ArrayList<>();

    @AfterEach
    void unmount() {
        for (Path m : mounts) {
            FaultFixture.sh("umount", m.toString());
        }
    }

    /**
     * A tmpfs at {@code dir} with mount options {@code options}. Root ignores chmod 555, so a read-only or full
     * directory needs a file system of its own; where mounting is not allowed the test is skipped with that reason.
     */
    private Path tmpfs(Path dir, String options) throws IOException {
        Files.createDirectories(dir);
        assumeTrue(FaultFixture.sh("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir.toString()) == 0,
                "cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): no read-only or full file system to test");
        mounts.add(dir);
        return dir;
    }

    private Path run2() throws IOException {
        Path run = tmp.resolve("run");
        FaultFixture.dictionary(run.resolve("saes/x1"), 8, 16, 3);
        FaultFixture.dictionary(run.resolve("saes/x2"), 8, 32, 4);
        return run;
    }

    @Test
    void exportChecksEveryTargetBeforeWritingAny() throws IOException {
        Path run = run2();
        Path out = tmp.resolve("out");
        Files.createDirectories(out.resolve("x2"));
        Files.writeString(out.resolve("x2/keep.txt"), "earlier output");
        assertFailure(run("export", run.toString(), "--format", "npy", "--out", out.toString()), 2,
                out.resolve("x2").toString(), "already exists");
        assertFalse(Files.exists(out.resolve("x1")), "x1 is not exported when x2 is refused");
        assertEquals("earlier output", Files.readString(out.resolve("x2/keep.txt")), "earlier output intact");
    }

    @Test
    void exportChecksEveryDictionaryBeforeWritingAny() throws IOException {
        Path run = run2();
        Path w = run.resolve("saes/x2/sae_weights.safetensors");
        byte[] bytes = Files.readAllBytes(w);
        Files.write(w, java.util.Arrays.copyOf(bytes, bytes.length - 8));
        Path out = tmp.resolve("out");
        assertFailure(run("export", run.toString(), "--format", "npy", "--out", out.toString()), 2, w.toString());
        assertFalse(Files.exists(out.resolve("x1")), "x1 is not exported when x2 cannot be read");
    }

    @Test
    void sparsifyRefusesAnyNonTopkDictionaryBeforeWritingAny() throws IOException {
        Path run = run2();
        // Rewrite x2's cfg.json as a relu ("standard") dictionary: sparsify has none.
        Path cfg = run.resolve("saes/x2/cfg.json");
        Files.writeString(cfg, Files.readString(cfg).replace("\"topk\"", "\"standard\""));
        Path out = tmp.resolve("out");
        FaultFixture.Outcome o = run("export", run.toString(), "--format", "sparsify", "--out", out.toString());
        assertEquals(2, o.code(), o.err());
        assertFalse(o.err().contains("\tat "), o.err());
        assertFalse(Files.exists(out.resolve("x1")), "x1 is not exported when x2 is refused");
    }

    @Test
    void aReadOnlyOutputIsExitThreeAndLeavesNothing() throws IOException {
        Path sae = FaultFixture.dictionary(tmp.resolve("saes/x1"), 8, 16, 3);
        Path ro = tmpfs(tmp.resolve("ro"), "ro,size=1m");
        assertFailure(run("export", sae.toString(), "--format", "npy", "--out", ro.resolve("out").toString()), 3,
                "Read-only file system", "choose a writable --out");
        try (Stream<Path> s = Files.list(ro)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void aFullDiskIsExitThreeAndLeavesNoHalfWrittenExport() throws IOException {
        // 64 x 1024 latents: each weight matrix is 256 KiB, more than the 128 KiB file system holds.
        Path sae = FaultFixture.dictionary(tmp.resolve("saes/x1"), 64, 1024, 3);
        Path full = tmpfs(tmp.resolve("full"), "size=128k");
        Path earlier = Files.writeString(full.resolve("earlier.txt"), "earlier output");
        FaultFixture.Outcome o = run("export", sae.toString(), "--format", "npy", "--out", full.resolve("out").toString());
        assertFailure(o, 3, "No space left");
        assertFalse(Files.exists(full.resolve("out")), "no half-written export");
        try (Stream<Path> s = Files.list(full)) {
            assertEquals(List.of(earlier), s.toList(), "the staging folder is removed, earlier output intact");
        }
        assertArrayEquals("earlier output".getBytes(), Files.readAllBytes(earlier));
    }

    @Test
    void aFullDiskDuringTrainingIsExitThreeInOneLine() throws IOException {
        Path data = FaultFixture.shard(tmp.resolve("data/a.npy"), 512, 64, 1).getParent();
        Path full = tmpfs(tmp.resolve("full"), "size=64k");
        FaultFixture.Outcome o = run("train", data.toString(), "--batch", "64", "--expansion", "16", "--k", "4",
                "--threads", "1", "--device", "cpu", "--out", full.toString(), "--name", "r");
        assertFailure(o, 3, "No space left");
        assertTrue(o.err().contains("free space"), o.err());
    }
}
