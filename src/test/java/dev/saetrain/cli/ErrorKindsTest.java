package dev.saetrain.cli;

import static dev.saetrain.cli.FaultFixture.assertFailure;
import static dev.saetrain.cli.FaultFixture.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Bad input and bugs end differently: input the user can fix (an option value, a shard, a config file) is exit 2 and
 * one line naming it, with no stack trace anywhere; a broken internal contract (IllegalArgumentException) is exit 1,
 * one line pointing to the stack trace, which goes to the run's train.log.
 */
class ErrorKindsTest {
    @TempDir
    Path tmp;

    private Path shards() throws IOException {
        return FaultFixture.shard(tmp.resolve("data/a.npy"), 512, 8, 1).getParent();
    }

    private String[] train(Path data, String... extra) {
        String[] base = {"train", data.toString(), "--expansion", "2", "--k", "4", "--device", "cpu", "--threads",
            "1", "--out", tmp.resolve("runs").toString(), "--name", "r"};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    /** Option values that only the option records can refuse (picocli parses them fine). */
    @Test
    void aBadOptionValueIsOneLineAndExitTwo() throws IOException {
        Path data = shards();
        assertFailure(run(train(data, "--batch", "0")), Main.BAD_INPUT, "--batch", "got 0");
        assertFailure(run(train(data, "--batch", "64", "--epochs", "0")), Main.BAD_INPUT, "--epochs");
        assertFailure(run(train(data, "--batch", "64", "--k", "17")), Main.BAD_INPUT, "--k", "[1, 16]");
        assertFalse(Files.exists(tmp.resolve("runs/r")), "a refused option must leave no run folder");
    }

    @Test
    void aBadShardIsOneLineNamingTheFile() throws IOException {
        Path data = shards();
        Files.write(data.resolve("b.npy"), "not a numpy file at all".getBytes(StandardCharsets.US_ASCII));
        assertFailure(run(train(data, "--batch", "64")), Main.BAD_INPUT, "b.npy");
    }

    @Test
    void aBadConfigJsonIsOneLineNamingTheFile() throws IOException {
        Path dir = FaultFixture.dictionary(tmp.resolve("sae"), 8, 16, 2);
        Path cfg = dir.resolve("cfg.json");
        String good = Files.readString(cfg);
        // Well-formed JSON describing an impossible dictionary: k larger than it; then one past 2^31 elements per weight
        // matrix, which is a valid config (no such limit), refused at the weights file whose shapes do not match it.
        Files.writeString(cfg, good.replaceFirst("\"k\"\\s*:\\s*4", "\"k\": 99"));
        assertTrue(Files.readString(cfg).contains("\"k\": 99"), "the edit must change k");
        assertFailure(run("export", dir.toString(), "--format", "npy", "--out", tmp.resolve("x").toString()),
                Main.BAD_INPUT, "cfg.json", "'k'", "[1, 16]");
        Files.writeString(cfg, good.replaceFirst("\"d_in\"\\s*:\\s*8", "\"d_in\": 65536")
                .replaceFirst("\"d_sae\"\\s*:\\s*16", "\"d_sae\": 65536"));
        assertTrue(Files.readString(cfg).contains("65536"), "the edit must change d_in and d_sae");
        assertFailure(run("export", dir.toString(), "--format", "npy", "--out", tmp.resolve("x").toString()),
                Main.BAD_INPUT, "sae_weights.safetensors", "\"W_enc\" has shape [8, 16], expected [65536, 65536]");
        Files.writeString(cfg, "{\"d_in\": 8,");
        assertFailure(run("export", dir.toString(), "--format", "npy", "--out", tmp.resolve("y").toString()),
                Main.BAD_INPUT, "cfg.json");
    }

    /** Stands for any internal contract broken by a bug. */
    @Command(name = "broken")
    static final class Broken implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new IllegalArgumentException("buffer holds 12 floats, needs 16");
        }
    }

    @Test
    void anInternalIllegalArgumentIsExitOneWithTheTraceInTrainLog() throws IOException {
        Path data = shards();
        // A finished run makes its train.log the place for this process's stack traces.
        assertEquals(0, run(train(data, "--batch", "64", "--tokens", "256")).code());
        Path trainLog = tmp.resolve("runs/r/train.log");
        long before = Files.size(trainLog);

        CommandLine cl = Main.commandLine();
        cl.addSubcommand(new CommandLine(new Broken()));
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute("broken");

        String line = err.toString().strip();
        assertEquals(Main.INTERNAL, code, line);
        assertEquals(1, line.lines().count(), line);
        assertFalse(line.contains("\tat "), line);
        assertTrue(line.startsWith("internal error: java.lang.IllegalArgumentException: buffer holds 12"), line);
        assertTrue(line.contains("stack trace in " + trainLog) && line.endsWith("please report it"), line);
        String appended = Files.readString(trainLog).substring((int) before);
        assertTrue(appended.contains("IllegalArgumentException: buffer holds 12 floats") && appended.contains("\tat "),
                appended);
        assertTrue(appended.contains("at dev.saetrain.cli.ErrorKindsTest$Broken.call"), appended);
    }
}
