package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.io.DType;
import dev.saetrain.synth.SynthOptions;
import dev.saetrain.synth.SynthWriter;
import dev.saetrain.synth.SyntheticData;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes: a training run killed with SIGKILL between two checkpoints, or stopped with SIGTERM, and
 * then resumed, ends with the same sae_weights.safetensors bytes as a run never interrupted.
 */
class ResumeProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SAE = "x16-k8";
    /** 16384 rows, 6 epochs of 512-row batches: 192 steps, a checkpoint every 20. */
    private static final String[] RUN = {"--expansion", "16", "--k", "8", "--batch", "512", "--epochs", "6",
        "--threads", "2", "--device", "cpu", "--checkpoint-every", "10240", "--log-every", "20"};

    @TempDir
    static Path tmp;
    static Path data;
    static byte[] reference;

    @BeforeAll
    static void referenceRun() throws IOException {
        data = tmp.resolve("d64");
        SynthWriter.write(new SyntheticData(new SynthOptions(64, 128, 3, 0.99, 16_384, 8_192, 0, DType.F32)), data);
        StringWriter err = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                args("ref")), err.toString());
        reference = Files.readAllBytes(tmp.resolve("runs/ref/saes").resolve(SAE).resolve("sae_weights.safetensors"));
    }

    private static String[] args(String name) {
        List<String> a = new ArrayList<>(List.of("train", data.toString(), "--out", tmp.resolve("runs").toString(),
                "--name", name));
        a.addAll(List.of(RUN));
        return a.toArray(String[]::new);
    }

    private static Process start(String name) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args(name)));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve(name + ".log").toFile())
                .start();
    }

    /** Waits until the run's first checkpoint is published; fails if the process ends first. */
    private static void awaitCheckpoint(Process p, String name) throws Exception {
        Path latest = tmp.resolve("runs").resolve(name).resolve("checkpoints/latest");
        while (!Files.exists(latest)) {
            if (p.waitFor(10, TimeUnit.MILLISECONDS)) {
                fail("the training process exited (code " + p.exitValue() + ") before its first checkpoint:\n"
                        + Files.readString(tmp.resolve(name + ".log")));
            }
        }
        if (!p.isAlive()) {
            fail("the training process finished before it could be interrupted; make the run longer");
        }
    }

    private static void resumeAndCompare(String name) throws IOException {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "train", "--resume",
                tmp.resolve("runs").resolve(name).toString());
        assertEquals(0, code, err.toString());
        assertArrayEquals(reference, Files.readAllBytes(tmp.resolve("runs").resolve(name).resolve("saes").resolve(SAE)
                .resolve("sae_weights.safetensors")), "resumed weights differ from the uninterrupted run's");
    }

    private static JsonNode latestCheckpoint(String name) throws IOException {
        Path ck = tmp.resolve("runs").resolve(name).resolve("checkpoints");
        return JSON.readTree(ck.resolve(Files.readString(ck.resolve("latest")).strip()).resolve("checkpoint.json").toFile());
    }

    @Test
    void sigkillBetweenCheckpointsThenResumeGivesTheSameBytes() throws Exception {
        Process p = start("killed");
        awaitCheckpoint(p, "killed");
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the killed process did not end");
        assertEquals(137, p.exitValue(), "SIGKILL expected (128 + 9)");
        long step = latestCheckpoint("killed").get("step").asLong();
        assertTrue(step > 0 && step < 192, "the kill must land mid-run, latest checkpoint at step " + step);
        Path lock = tmp.resolve("runs/killed/run.lock");
        assertTrue(Files.readString(lock).startsWith("pid " + p.pid() + " on host "), "the killed holder is recorded");
        resumeAndCompare("killed");
        assertTrue(Files.readString(tmp.resolve("runs/killed/train.log")).contains("took over the stale lock " + lock
                + " left by pid " + p.pid()), "the stale lock of the killed process is taken over with a warning");
        assertEquals("", Files.readString(lock), "released: emptied, so the next holder sees no stale lock");
    }

    @Test
    void sigtermWritesACheckpointAtAStepBoundaryAndExits143() throws Exception {
        Process p = start("termed");
        awaitCheckpoint(p, "termed");
        p.destroy();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "SIGTERM did not stop the process");
        String log = Files.readString(tmp.resolve("termed.log"));
        assertEquals(StopSignals.TERM_EXIT, p.exitValue(), log);
        assertTrue(log.contains("stopped by SIGTERM"), log);
        JsonNode ck = latestCheckpoint("termed");
        long step = ck.get("step").asLong();
        assertTrue(step > 0 && step < 192, "stopped mid-run: " + step);
        assertEquals(step * 512, ck.at("/stream/rows_delivered").asLong(), "the checkpoint sits at a step boundary");
        assertTrue(log.contains("stopped by SIGTERM at step " + step), log);
        resumeAndCompare("termed");
    }
}
