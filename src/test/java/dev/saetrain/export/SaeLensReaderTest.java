package dev.saetrain.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.BadInputException;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SaeLensReaderTest {
    @TempDir
    Path tmp;

    @Test
    void everyArchitectureReadsBackBitExact() throws IOException {
        int seed = 1;
        for (Architecture arch : Architecture.values()) {
            SaeConfig cfg = SaeConfig.of(arch, 16, 4, 3, 0.5);
            SaeWeights base = TestWeights.random(cfg, seed++);
            java.util.Map<String, float[]> extras = new java.util.LinkedHashMap<>();
            for (String name : arch == Architecture.GATED ? List.of("b_mag", "r_mag")
                    : arch.exportsThreshold() ? List.of("threshold") : List.<String>of()) {
                extras.put(name, TestWeights.uniform(new java.util.SplittableRandom(seed + name.length()),
                        cfg.nLatents(), 1));
            }
            SaeWeights w = new SaeWeights(cfg, base.wEnc(), base.bEnc(), base.wDec(), base.bDec(), extras);
            Path dir = tmp.resolve("run/saes/" + arch.cliName());
            double[] freq = new double[cfg.nLatents()];
            freq[3] = 0.25;
            SaeLensWriter.write(dir, w, freq, ExportInfo.minimal("r", "dev", 10, 1));

            SaeLensReader.Loaded back = SaeLensReader.read(dir);
            SaeWeights r = back.weights();
            assertEquals(arch, r.config().arch(), arch.cliName());
            assertEquals(cfg.dIn(), r.config().dIn());
            assertEquals(cfg.nLatents(), r.config().nLatents());
            if (arch.usesK()) {
                assertEquals(3, r.config().k(), arch.cliName());
            }
            assertEquals(cfg.groups(), r.config().groups(), arch.cliName());
            assertArrayEquals(w.wEnc().toArray("test"), r.wEnc().toArray("test"), arch.cliName());
            assertArrayEquals(w.bEnc(), r.bEnc(), arch.cliName());
            assertArrayEquals(w.wDec().toArray("test"), r.wDec().toArray("test"), arch.cliName());
            assertArrayEquals(w.bDec(), r.bDec(), arch.cliName());
            assertEquals(w.extras().keySet(), r.extras().keySet(), arch.cliName());
            for (String name : w.extras().keySet()) {
                assertArrayEquals(w.extras().get(name), r.extras().get(name), arch.cliName() + " " + name);
            }
            assertNotNull(back.logSparsity());
            assertEquals((float) Math.log10(0.25 + 1e-10), back.logSparsity()[3], 1e-6);
        }
        List<Path> found = SaeLensReader.findSaeDirs(tmp.resolve("run"), w -> { });
        assertEquals(Architecture.values().length, found.size());
    }

    @Test
    void missingTensorOrBadCfgNamesTheFile() throws IOException {
        Path dir = tmp.resolve("sae");
        SaeLensWriter.write(dir, TestWeights.random(SaeConfig.topk(8, 2, 2), 5), new double[16],
                ExportInfo.minimal("r", "dev", 1, 1));
        Files.writeString(dir.resolve("cfg.json"), "{\"d_in\": 8}");
        BadInputException e = assertThrows(BadInputException.class, () -> SaeLensReader.read(dir));
        assertTrue(e.getMessage().contains("cfg.json") && e.getMessage().contains("d_sae"), e.getMessage());

        Files.writeString(dir.resolve("cfg.json"), "{\"d_in\": 8, \"d_sae\": 17, \"architecture\": \"topk\", \"k\": 2}");
        e = assertThrows(BadInputException.class, () -> SaeLensReader.read(dir));
        assertTrue(e.getMessage().contains("sae_weights.safetensors") && e.getMessage().contains("W_enc"), e.getMessage());

        assertThrows(BadInputException.class, () -> SaeLensReader.findSaeDirs(tmp.resolve("nothing-here"), w -> { }));
    }
}
