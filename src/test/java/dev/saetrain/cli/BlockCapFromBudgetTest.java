package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pre-activation block size follows the memory limit: a topk SAE whose plan with its whole [batch, m]
 * pre-activations (128 MiB here, 153 MiB in all) is over --max-memory 120m trains in smaller row blocks (89 MiB)
 * instead of being refused; a limit no block size meets is still refused before anything is written. The memory
 * table's wording is MemoryPlanTest's.
 */
class BlockCapFromBudgetTest {
    @TempDir
    Path tmp;

    @Test
    void aTightLimitTrainsInSmallerBlocks() throws IOException {
        CliRunner cli = new CliRunner();
        Path data = tmp.resolve("data");
        assertEquals(0, cli.run("synth", data.toString(), "--d", "64", "--rows", "8192", "--features", "256"),
                cli.err());
        String[] train = {"train", data.toString(), "--out", tmp.resolve("runs").toString(), "--expansion", "128",
                "--k", "8", "--batch", "4096", "--tokens", "8192", "--threads", "2", "--device", "cpu"};

        assertEquals(0, cli.run(concat(train, "--name", "tight", "--max-memory", "120m")), cli.err());
        assertTrue(Files.exists(tmp.resolve("runs/tight/saes/x128-k8/sae_weights.safetensors")));

        cli.clearErr();
        assertEquals(2, cli.run(concat(train, "--name", "none", "--max-memory", "50m")));
        assertTrue(cli.err().contains("does not fit: x128-k8"), cli.err());
        assertTrue(Files.notExists(tmp.resolve("runs/none")));
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
