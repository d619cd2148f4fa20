package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.device.DeviceMemoryError;
import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.JsonFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each class of failure maps to its exit code and one line naming the file or option; traces never reach stderr. */
class FailureTest {
    @TempDir
    Path tmp;

    private static void assertOneLine(Failure f, int code, String... phrases) {
        assertEquals(code, f.code(), f.message());
        assertFalse(f.message().contains("\n"), f.message());
        assertTrue(f.message().startsWith(code == Main.INTERNAL ? "internal error: " : "error: "), f.message());
        for (String p : phrases) {
            assertTrue(f.message().contains(p), "'" + p + "' missing from: " + f.message());
        }
    }

    @Test
    void badInputAndUsage() {
        assertOneLine(Failure.of(new BadInputException(Path.of("a.npy"), "bad magic")), Main.BAD_INPUT, "a.npy", "bad magic");
        assertOneLine(Failure.of(new UsageException("--lr must be > 0\nnext line")), Main.BAD_INPUT, "--lr", "; next line");
        assertOneLine(Failure.of(new NoSuchFileException("/x/config.json")), Main.BAD_INPUT, "/x/config.json", "no such file");
        assertOneLine(Failure.of(new FileSystemException("/x/" + "n".repeat(300), null, "File name too long")),
                Main.BAD_INPUT, "too long", "--name");
        assertOneLine(Failure.of(new ArithmeticException("long overflow")), Main.BAD_INPUT, "overflow", "--expansion");
        assertOneLine(Failure.of(new InternalError("a fault occurred in a recent unsafe memory access operation")),
                Main.BAD_INPUT, "changed or was truncated");
        assertOneLine(Failure.of(new InternalError("something else")), Main.INTERNAL, "InternalError");
    }

    @Test
    void brokenContractsAreBugsNotBadInput() {
        // IllegalArgumentException and IllegalStateException guard internal contracts; user errors are UsageException.
        assertOneLine(Failure.of(new IllegalArgumentException("buffer holds 12 floats, needs 16")), Main.INTERNAL,
                "IllegalArgumentException", "needs 16");
        assertOneLine(Failure.of(new IllegalStateException("stream is closed")), Main.INTERNAL, "IllegalStateException");
        assertOneLine(Failure.of(new ExecutionException(new IllegalArgumentException("x"))), Main.INTERNAL,
                "IllegalArgumentException");
    }

    @Test
    void theMachineRefusing() {
        assertOneLine(Failure.of(new FileSystemException("/runs/a/checkpoints/step-9/x", null, "No space left on device")),
                Main.ENVIRONMENT, "/runs/a/checkpoints", "No space left", "free space");
        assertOneLine(Failure.of(new IOException("No space left on device")), Main.ENVIRONMENT, "free space");
        assertOneLine(Failure.of(new FileSystemException("/ro/run", null, "Read-only file system")), Main.ENVIRONMENT,
                "/ro/run", "writable --out");
        assertOneLine(Failure.of(new AccessDeniedException("/root/x")), Main.ENVIRONMENT, "/root/x", "permission denied");
        assertOneLine(Failure.of(new OutOfMemoryError("Java heap space")), Main.ENVIRONMENT, "out of memory", "--batch");
        assertOneLine(Failure.of(new IOException("Map failed")), Main.ENVIRONMENT, "vm.max_map_count");
    }

    @Test
    void aRefusedDeviceBufferNamesTheSaeAndTheSize() {
        Failure f = Failure.of(new DeviceMemoryError(3L << 30, "a CPU buffer of 805306368 floats").forSae("x256-k32"));
        assertOneLine(f, Main.ENVIRONMENT, "out of memory", "SAE x256-k32", "3.0 GiB", "--batch", "--max-memory");
        assertFalse(f.message().contains("MaxDirectMemorySize"), f.message());
    }

    @Test
    void wrappersAreSeenThrough() {
        assertOneLine(Failure.of(new UncheckedIOException("cannot write", new AccessDeniedException("/root/y"))),
                Main.ENVIRONMENT, "/root/y");
        assertOneLine(Failure.of(new ExecutionException(new BadInputException(Path.of("b.npy"), "truncated"))),
                Main.BAD_INPUT, "b.npy");
    }

    @Test
    void malformedJsonNamesTheFileAndLine() throws IOException {
        Path f = Files.writeString(tmp.resolve("checkpoint.json"), "{\n  \"step\": 12,\n  oops\n}");
        Failure fail = null;
        try {
            JsonFiles.read(f);
        } catch (IOException | RuntimeException e) {
            fail = Failure.of(e);
        }
        assertNotNull(fail, "the parser accepted malformed JSON");
        assertOneLine(fail, Main.BAD_INPUT, "checkpoint.json", "line 3", "not valid JSON");
        fail = null;
        try {
            new ObjectMapper().readTree(Files.readString(f));
        } catch (IOException e) {
            fail = Failure.of(e);
        }
        assertNotNull(fail, "the parser accepted malformed JSON");
        assertOneLine(fail, Main.BAD_INPUT, "line 3", "malformed JSON");
    }

    @Test
    void aBugIsInternalWithItsTraceInAFileNotOnStderr() throws IOException {
        StringWriter err = new StringWriter();
        Failure f = Failure.of(new NullPointerException("boom"));
        assertOneLine(f, Main.INTERNAL, "NullPointerException", "boom");
        int code = Main.report(f, new PrintWriter(err, true), new String[] {"train", "x"});
        assertEquals(Main.INTERNAL, code);
        String line = err.toString().strip();
        assertFalse(line.contains("\n") || line.contains("\tat "), line);
        assertTrue(line.contains("stack trace in ") && line.contains("please report it"), line);
        Path trace = Path.of(line.substring(line.indexOf("stack trace in ") + 15, line.indexOf("; please")));
        String text = Files.readString(trace);
        assertTrue(text.contains("NullPointerException: boom") && text.contains("\tat "), text);
        assertTrue(text.contains("sae-train train x failed (exit 1)"), text);
        if (trace.getFileName().toString().startsWith("sae-train-error-")) {
            Files.delete(trace);
        }
    }

    /** Through the CLI: an --out that is a file, a run directory that cannot be written. */
    @Test
    void outputThatIsAFileIsOneLineThroughTheCli() throws IOException {
        Path shards = tmp.resolve("shards");
        assertEquals(0, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(new StringWriter(), true),
                "synth", shards.toString(), "--d", "8", "--features", "16", "--rows", "4096", "--rows-per-shard", "4096"));
        Path out = Files.writeString(tmp.resolve("not-a-dir"), "x");
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "train",
                shards.toString(), "--out", out.toString(), "--name", "r", "--batch", "64", "--expansion", "2",
                "--k", "2", "--threads", "1");
        String e = err.toString().strip();
        assertEquals(Main.BAD_INPUT, code, e);
        assertFalse(e.contains("\n") || e.contains("\tat "), e);
        assertTrue(e.contains("not-a-dir"), e);
    }
}
