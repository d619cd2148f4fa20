package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * batchtopk's and matryoshka's k * B picks are one sparse matrix over the whole batch, with int32 row pointers: a
 * batch and k whose product passes 2^31 - 1 is refused in one line naming both options, exit 2, nothing written,
 * before anything is allocated. One pick fewer than 2^31 is not refused for that reason.
 */
class BatchPicksLimitTest {
    @TempDir
    Path tmp;

    @Test
    void picksPastInt32AreRefusedInOneLine() throws IOException {
        CliRunner cli = new CliRunner();
        Path data = tmp.resolve("data");
        assertEquals(0, cli.run("synth", data.toString(), "--d", "128", "--rows", "65536", "--features", "256"),
                cli.err());
        for (String arch : new String[] {"batchtopk", "matryoshka"}) {
            cli.clearErr();
            // 65536 x 32768 = 2^31 picks (d = 128 x256: 32768 latents).
            assertEquals(2, cli.run("train", data.toString(), "--out", tmp.resolve("runs").toString(), "--name", arch,
                    "--arch", arch, "--expansion", "256", "--k", "32768", "--batch", "65536", "--tokens", "65536",
                    "--threads", "2", "--device", "cpu"), arch);
            String err = cli.err();
            assertTrue(err.contains("2147483648 picks a step, past 2^31 - 1; lower --batch or --k"), err);
            assertEquals(1, err.strip().lines().count(), err);
            assertFalse(err.contains("Exception"), err);
            assertTrue(Files.notExists(tmp.resolve("runs").resolve(arch)), arch);
        }
        // One row fewer: not refused for its picks (the memory plan may still refuse it, for its size).
        cli.clearErr();
        cli.run("train", data.toString(), "--out", tmp.resolve("runs").toString(), "--name", "fewer",
                "--arch", "batchtopk", "--expansion", "256", "--k", "32767", "--batch", "65536", "--tokens", "65536",
                "--threads", "2", "--device", "cpu", "--max-memory", "1m");
        assertFalse(cli.err().contains("picks a step"), cli.err());
    }
}
