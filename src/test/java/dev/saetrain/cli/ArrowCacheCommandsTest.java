package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.data.TestArrowCacheFiles;
import dev.saetrain.io.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train}, {@code inspect} and {@code bench --stream} on SAELens caches: a good one trains with the hook name and
 * context size in the exported metadata; each bad one is one line, exit 2, no run folder.
 */
class ArrowCacheCommandsTest {
    private static final String HOOK = "blocks.3.hook_resid_post";

    @TempDir
    Path tmp;

    private final CliRunner cli = new CliRunner();

    private int train(Path cache, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("train", cache.toString(), "--out", tmp.resolve("runs").toString(),
                "--name", "r", "--batch", "32", "--expansion", "2", "--k", "4", "--threads", "1"));
        a.addAll(List.of(extra));
        return cli.run(a.toArray(String[]::new));
    }

    private void assertRejected(Path cache, String phrase, String... extra) {
        assertEquals(2, train(cache, extra), cli.err());
        String e = cli.err().strip();
        assertFalse(e.contains("\n"), "one line expected: " + e);
        assertTrue(e.startsWith("error: "), e);
        assertTrue(e.contains(phrase), e);
        assertFalse(Files.exists(tmp.resolve("runs/r")), "a run directory was left behind");
    }

    @Test
    void trainsOnACacheWithTheHookAndContextInTheMetadata() throws IOException {
        Path cache = TestArrowCacheFiles.good(tmp.resolve("c"), HOOK, DType.F16);
        assertEquals(0, train(cache), cli.err());
        JsonNode cfg = new ObjectMapper().readTree(tmp.resolve("runs/r/saes/x2-k4/cfg.json").toFile());
        assertEquals(HOOK, cfg.at("/metadata/hook_name").asText());
        assertEquals(TestArrowCacheFiles.CTX, cfg.at("/metadata/context_size").asInt());
        JsonNode config = new ObjectMapper().readTree(tmp.resolve("runs/r/config.json").toFile());
        assertEquals(HOOK, config.at("/data/column").asText());
        assertEquals(0, cli.run("inspect", cache.toString()), cli.err());
        assertTrue(cli.out().contains("arrow"), cli.out());
        assertEquals(0, cli.run("bench", "--stream", cache.toString(), "--seconds", "1", "--batch", "64"), cli.err());
        assertTrue(cli.out().contains("GB/s"), cli.out());
    }

    @Test
    void noFloatColumn() throws IOException {
        assertRejected(TestArrowCacheFiles.tokensOnly(tmp.resolve("c")), "no 2-D float column");
    }

    @Test
    void secondFloatColumnWithoutColumn() throws IOException {
        assertRejected(TestArrowCacheFiles.twoHooks(tmp.resolve("c")), "--column");
    }

    @Test
    void notATwoDimensionalArray() throws IOException {
        Path c = TestArrowCacheFiles.flatHook(tmp.resolve("c"), HOOK);
        assertRejected(c, "not a 2-D float array", "--column", HOOK);
    }

    @Test
    void truncatedFile() throws IOException {
        Path c = TestArrowCacheFiles.good(tmp.resolve("c"), HOOK, DType.F32);
        Path f = c.resolve("data-00001-of-00002.arrow");
        try (var ch = java.nio.channels.FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 100);
        }
        assertRejected(c, "truncated");
    }

    @Test
    void datasetInfoThatDisagrees() throws IOException {
        Path c = TestArrowCacheFiles.good(tmp.resolve("c"), HOOK, DType.F32);
        Path info = c.resolve("dataset_info.json");
        Files.writeString(info, Files.readString(info).replace("\"shape\": [" + TestArrowCacheFiles.CTX,
                "\"shape\": [" + (TestArrowCacheFiles.CTX + 1)));
        assertRejected(c, "disagrees with the Arrow files");
    }
}
