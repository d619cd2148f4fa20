package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.analysis.EncoderRows;
import dev.saetrain.export.ExportInfo;
import dev.saetrain.export.ExportedSae;
import dev.saetrain.export.SaeLensWriter;
import dev.saetrain.export.TestTensorFiles;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExportCommandTest {
    private static final int D = 24;
    private static final int M = 40;
    private static final int K = 4;

    @TempDir
    Path tmp;

    private final CliRunner cli = new CliRunner();

    private static float[] uniform(SplittableRandom rng, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    private Path dictionary(String name, Architecture arch, boolean applyBDec, long seed) throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        SaeConfig cfg = new SaeConfig(arch, D, M, arch.usesK() ? K : 0, 1, applyBDec);
        SaeWeights w = SaeWeights.of(cfg, uniform(rng, D * M, 0.3), uniform(rng, M, 0.2), uniform(rng, M * D, 0.3),
                uniform(rng, D, 0.5));
        Path dir = tmp.resolve("saes").resolve(name);
        SaeLensWriter.write(dir, w, new double[M], ExportInfo.minimal("r", "dev", 0, 1));
        return dir;
    }

    @Test
    void sparsifyExportComputesWhatTheDictionaryComputes() throws IOException {
        for (boolean applyBDec : new boolean[] {true, false}) {
            Path sae = dictionary("topk-" + applyBDec, Architecture.TOPK, applyBDec, applyBDec ? 1 : 2);
            Path target = tmp.resolve("sparsify-" + applyBDec);
            assertEquals(0, cli.run("export", sae.toString(), "--format", "sparsify", "--out", target.toString()), cli.err());
            Map<String, TestTensorFiles.Loaded> t = TestTensorFiles.readSafetensors(target.resolve("sae.safetensors"));
            assertEquals(java.util.List.of("encoder.weight", "encoder.bias", "W_dec", "b_dec"), java.util.List.copyOf(t.keySet()));
            assertArrayEquals(new long[] {M, D}, t.get("encoder.weight").shape());
            assertArrayEquals(new long[] {M}, t.get("encoder.bias").shape());
            assertArrayEquals(new long[] {M, D}, t.get("W_dec").shape());
            assertArrayEquals(new long[] {D}, t.get("b_dec").shape());
            JsonNode cfg = new ObjectMapper().readTree(target.resolve("cfg.json").toFile());
            assertEquals(D, cfg.get("d_in").asInt());
            assertEquals(M, cfg.get("num_latents").asInt());
            assertEquals(K, cfg.get("k").asInt());
            assertEquals("topk", cfg.get("activation").asText());
            SaeWeights w = dev.saetrain.export.SaeLensReader.read(sae).weights();
            // The sparsify files run as sparsify documents them (pre = (x - b_dec) encoder.weight^T + encoder.bias).
            ExportedSae file = ExportedSae.sparsify(target);
            SplittableRandom rng = new SplittableRandom(7);
            float[] ref = new float[D];
            for (int r = 0; r < 20; r++) {
                float[] x = uniform(rng, D, 2);
                EncoderRows.reconstruct(w, x, ref);
                double[] y = file.forward(x);
                float[] fromFile = new float[D];
                for (int j = 0; j < D; j++) {
                    fromFile[j] = (float) y[j];
                }
                assertArrayEquals(ref, fromFile, 1e-4f, "applyBDec=" + applyBDec + " row " + r);
            }
        }
    }

    @Test
    void npyAndSaelensExportsAreExact() throws IOException {
        Path sae = dictionary("jr", Architecture.RELU, true, 3);
        Path npy = tmp.resolve("npy");
        assertEquals(0, cli.run("export", sae.toString(), "--format", "npy", "--out", npy.toString()), cli.err());
        Map<String, TestTensorFiles.Loaded> st = TestTensorFiles.readSafetensors(sae.resolve("sae_weights.safetensors"));
        for (String name : new String[] {"W_enc", "W_dec", "b_enc", "b_dec"}) {
            TestTensorFiles.Loaded n = TestTensorFiles.readNpy(npy.resolve(name + ".npy"));
            assertArrayEquals(st.get(name).shape(), n.shape(), name);
            assertArrayEquals(st.get(name).values(), n.values(), name);
        }
        assertArrayEquals(Files.readAllBytes(sae.resolve("cfg.json")), Files.readAllBytes(npy.resolve("cfg.json")));
        Path sl = tmp.resolve("sl");
        assertEquals(0, cli.run("export", sae.toString(), "--format", "saelens", "--out", sl.toString()), cli.err());
        for (String f : new String[] {"cfg.json", "sae_weights.safetensors", "sparsity.safetensors"}) {
            assertArrayEquals(Files.readAllBytes(sae.resolve(f)), Files.readAllBytes(sl.resolve(f)), f);
        }
    }

    @Test
    void refusalsAreOneLineWithExitCode2() throws IOException {
        Path relu = dictionary("relu", Architecture.RELU, true, 4);
        assertEquals(2, cli.run("export", relu.toString(), "--format", "sparsify", "--out", tmp.resolve("x").toString()));
        assertTrue(cli.err().contains("sparsify has only TopK SAEs"), cli.err());
        assertFalse(Files.exists(tmp.resolve("x")));
        cli.clearErr();
        Files.createDirectories(tmp.resolve("exists"));
        assertEquals(2, cli.run("export", relu.toString(), "--format", "npy", "--out", tmp.resolve("exists").toString()));
        assertTrue(cli.err().contains("already exists"), cli.err());
        cli.clearErr();
        assertEquals(2, cli.run("export", relu.toString(), "--format", "onnx", "--out", tmp.resolve("y").toString()));
        assertEquals("error: unknown --format 'onnx'; use saelens, sparsify or npy", cli.err().strip());
    }
}
