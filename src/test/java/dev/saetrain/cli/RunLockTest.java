package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.io.DType;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import dev.saetrain.train.RunLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One writer per run directory: a second process (or a second lock in this one) that would train, resume or write
 * analyses into a run someone holds is refused in one line naming the holder's PID, exit 2, the run untouched; a lock
 * file left by a dead process is taken over with a warning.
 */
class RunLockTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path data;
    static Path base;

    @BeforeAll
    static void interruptedRun() throws IOException {
        data = tmp.resolve("d16");
        SynthWriter.write(new SyntheticData(new SynthOptions(16, 32, 3, 0.99, 4_000, 2_048, 0, DType.F32)), data);
        FaultFixture.Outcome r = FaultFixture.run("train", data.toString(), "--out",
                tmp.resolve("runs").toString(), "--name", "base", "--batch", "256", "--expansion", "2", "--k", "2",
                "--threads", "1", "--checkpoint-every", "1024");
        assertEquals(0, r.code(), r.err());
        base = tmp.resolve("runs/base");
    }

    /** A copy of the finished base run that looks interrupted after its last checkpoint. */
    private static Path interrupted(String name) throws Exception {
        Path dst = tmp.resolve("runs").resolve(name);
        try (var walk = Files.walk(base)) {
            for (Path p : walk.sorted().toList()) {
                if (!p.startsWith(base.resolve("saes"))) {
                    Files.copy(p, dst.resolve(base.relativize(p).toString()));
                }
            }
        }
        ObjectNode config = (ObjectNode) JSON.readTree(dst.resolve("config.json").toFile());
        config.remove("result");
        Files.writeString(dst.resolve("config.json"), config.toString());
        return dst;
    }

    private static String refusedNamingPid(FaultFixture.Outcome r, long pid) {
        assertEquals(2, r.code(), r.err());
        String e = CheckpointFaultTest.oneLine(r);
        assertTrue(e.contains("is in use by pid " + pid + " on host "), e);
        assertTrue(e.contains("run.lock"), e);
        return e;
    }

    @Test
    void aSecondResumeInThisProcessIsRefusedAndChangesNothing() throws Exception {
        Path run = interrupted("held");
        Map<String, String> before = CheckpointFaultTest.tree(run);
        try (RunLock held = RunLock.acquire(run, "test")) {
            refusedNamingPid(FaultFixture.run("train", "--resume", run.toString()), ProcessHandle.current().pid());
            assertEquals(before, CheckpointFaultTest.tree(run), "the refused resume wrote nothing");
            // analyze writes analysis/ into the run: it takes the same lock.
            Path finished = base;
            try (RunLock alsoHeld = RunLock.acquire(finished, "test")) {
                String e = refusedNamingPid(FaultFixture.run("analyze", finished.toString(), "--no-report"),
                        ProcessHandle.current().pid());
                assertTrue(e.contains("cannot write analyses into"), e);
            }
            assertFalse(Files.exists(finished.resolve("analysis")), "the refused analysis wrote nothing");
        }
        // Released: the resume goes through now.
        FaultFixture.Outcome ok = FaultFixture.run("train", "--resume", run.toString());
        assertEquals(0, ok.code(), ok.err());
        assertEquals("", Files.readString(run.resolve("run.lock")), "a clean release leaves no holder behind");
    }

    @Test
    void aStaleLockFileIsTakenOverWithAWarning() throws Exception {
        Path run = interrupted("stale");
        // What a process killed while holding the lock leaves: the file names it, nobody holds the OS lock.
        Files.writeString(run.resolve("run.lock"), "pid 999999999 on host gone\n");
        FaultFixture.Outcome r = FaultFixture.run("train", "--resume", run.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.readString(run.resolve("train.log")).contains("took over the stale lock "
                + run.resolve("run.lock") + " left by pid 999999999 on host gone"));
        JsonNode config = JSON.readTree(run.resolve("config.json").toFile());
        assertEquals("finished", config.at("/result/status").asText());
    }

    @Test
    void aSecondProcessIsRefusedWhileTheFirstTrains() throws Exception {
        // The child holds after its first checkpoint until the release file exists (CheckpointHold), so it is
        // certainly alive and holding the lock while this process tries to resume the same run.
        Path release = tmp.resolve("release");
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "train", data.toString(), "--out",
                tmp.resolve("runs").toString(), "--name", "child", "--batch", "256", "--expansion", "2", "--k", "2",
                "--threads", "1", "--checkpoint-every", "1024"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("child.log").toFile());
        pb.environment().put("SAE_TRAIN_HOLD_AFTER_CHECKPOINT", release.toString());
        Process p = pb.start();
        Path run = tmp.resolve("runs/child");
        try {
            while (!Files.exists(run.resolve("checkpoints/latest"))) {
                if (p.waitFor(20, TimeUnit.MILLISECONDS)) {
                    fail("the child ended before its first checkpoint:\n" + Files.readString(tmp.resolve("child.log")));
                }
            }
            String e = refusedNamingPid(FaultFixture.run("train", "--resume", run.toString()), p.pid());
            assertTrue(e.contains("cannot resume " + run), e);
            FaultFixture.Outcome again = FaultFixture.run("train", data.toString(), "--out",
                    tmp.resolve("runs").toString(), "--name", "child", "--batch", "256", "--expansion", "2", "--k", "2");
            assertEquals(2, again.code(), again.err());
            assertTrue(CheckpointFaultTest.oneLine(again).contains("already exists"), again.err());
            Files.createFile(release);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child did not finish once released");
            assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("child.log")));
        } finally {
            p.destroyForcibly();
        }
        assertTrue(Files.isRegularFile(run.resolve("saes/x2-k2/sae_weights.safetensors")), "the holder finished its run");
    }
}
