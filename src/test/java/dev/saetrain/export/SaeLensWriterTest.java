package dev.saetrain.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.DType;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SaeLensWriterTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ExportInfo INFO = ExportInfo.minimal("run-7", "0.1.0", 123_456_789L, 2.5)
            .withHookName("blocks.0.hook_resid_post").withModelName("gpt2").withDatasetPath("/data/shards")
            .withContextSize(128);

    @TempDir
    Path tmp;

    private static double[] frequencies(int m, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] f = new double[m];
        for (int i = 0; i < m; i++) {
            f[i] = i % 10 == 0 ? 0 : rng.nextDouble() * 0.1;
        }
        f[m - 1] = 1;
        return f;
    }

    @Test
    void weightsRoundTripBitExactWithSaeLensNamesShapesAndDtype() throws IOException {
        SaeWeights w = TestWeights.random(SaeConfig.topk(48, 2, 7).withNLatents(100), 1);
        Path dir = tmp.resolve("saes/m100-k7");
        SaeLensWriter.write(dir, w, frequencies(100, 2), INFO);

        Map<String, TestTensorFiles.Loaded> t = TestTensorFiles.readSafetensors(dir.resolve("sae_weights.safetensors"));
        assertEquals(Set.of("W_enc", "W_dec", "b_enc", "b_dec"), t.keySet());
        assertTensor(t.get("W_enc"), w.wEnc().toArray("test"), 48, 100);
        assertTensor(t.get("W_dec"), w.wDec().toArray("test"), 100, 48);
        assertTensor(t.get("b_enc"), w.bEnc(), 100);
        assertTensor(t.get("b_dec"), w.bDec(), 48);
    }

    private static void assertTensor(TestTensorFiles.Loaded t, float[] expected, long... shape) {
        assertEquals(DType.F32, t.dtype());
        assertArrayEquals(shape, t.shape());
        assertEquals(expected.length, t.values().length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(t.values()[i]), "element " + i);
        }
    }

    @Test
    void topkCfgHasSaeLens6KeysAndTypes() throws IOException {
        SaeWeights w = TestWeights.random(SaeConfig.topk(48, 2, 7), 3);
        Path dir = tmp.resolve("x2-k7");
        SaeLensWriter.write(dir, w, frequencies(96, 4), INFO);
        JsonNode cfg = JSON.readTree(dir.resolve("cfg.json").toFile());

        assertEquals("topk", cfg.get("architecture").textValue());
        assertTrue(cfg.get("d_in").isInt());
        assertEquals(48, cfg.get("d_in").intValue());
        assertEquals(96, cfg.get("d_sae").intValue());
        assertEquals("float32", cfg.get("dtype").textValue());
        assertEquals("cpu", cfg.get("device").textValue());
        assertTrue(cfg.get("apply_b_dec_to_input").booleanValue());
        assertEquals("none", cfg.get("normalize_activations").textValue());
        assertEquals("none", cfg.get("reshape_activations").textValue());
        assertEquals(7, cfg.get("k").intValue());
        assertTrue(cfg.get("rescale_acts_by_decoder_norm").isBoolean());
        assertFalse(cfg.get("rescale_acts_by_decoder_norm").booleanValue());

        JsonNode meta = cfg.get("metadata");
        assertEquals(SaeLensCfg.SAE_LENS_FORMAT_VERSION, meta.get("sae_lens_version").textValue());
        assertTrue(Integer.parseInt(meta.get("sae_lens_version").textValue().split("\\.")[0]) >= 6,
                "SAELens runs its pre-6.0 conversion on configs below 6.0.0");
        assertTrue(meta.get("sae_lens_training_version").isNull());
        assertEquals("gpt2", meta.get("model_name").textValue());
        assertEquals("blocks.0.hook_resid_post", meta.get("hook_name").textValue());
        assertTrue(meta.get("hook_head_index").isNull());
        assertEquals(128, meta.get("context_size").intValue());
        assertTrue(meta.get("prepend_bos").isNull());
        assertEquals("/data/shards", meta.get("dataset_path").textValue());
        JsonNode ours = meta.get("sae_train");
        assertEquals("0.1.0", ours.get("version").textValue());
        assertEquals("run-7", ours.get("run_name").textValue());
        assertEquals(123_456_789L, ours.get("training_tokens").longValue());
        assertEquals(2.5, ours.get("folded_scale").doubleValue());
        assertEquals("topk", ours.get("architecture").textValue());
    }

    @Test
    void reluIsSaeLensStandardWithoutTopkKeys() throws IOException {
        SaeWeights w = TestWeights.random(SaeConfig.relu(48, 2, 5.0), 5);
        Path dir = tmp.resolve("x2-l1");
        SaeLensWriter.write(dir, w, frequencies(96, 6), ExportInfo.minimal("r", "dev", 0, 1).withPrependBos(true));
        JsonNode cfg = JSON.readTree(dir.resolve("cfg.json").toFile());

        assertEquals("standard", cfg.get("architecture").textValue());
        assertFalse(cfg.has("k"));
        assertFalse(cfg.has("rescale_acts_by_decoder_norm"));
        assertEquals("unknown", cfg.get("metadata").get("hook_name").textValue());
        assertTrue(cfg.get("metadata").get("context_size").isNull());
        assertTrue(cfg.get("metadata").get("prepend_bos").booleanValue());
        assertEquals(5.0, cfg.get("metadata").get("sae_train").get("l1").doubleValue());
    }

    @Test
    void sparsityIsLog10OfFrequencyPlusEpsilon() throws IOException {
        double[] f = frequencies(100, 8);
        Path dir = tmp.resolve("s");
        SaeLensWriter.write(dir, TestWeights.random(SaeConfig.topk(48, 2, 1).withNLatents(100), 9), f, INFO);
        Map<String, TestTensorFiles.Loaded> t = TestTensorFiles.readSafetensors(dir.resolve("sparsity.safetensors"));
        assertEquals(Set.of("sparsity"), t.keySet());
        assertEquals(DType.F32, t.get("sparsity").dtype());
        assertArrayEquals(new long[] {100}, t.get("sparsity").shape());
        float[] s = t.get("sparsity").values();
        assertEquals(-10f, s[0], 1e-6f, "a dead latent is log10(1e-10)");
        assertEquals(0f, s[99], 1e-6f, "a latent firing on every token is log10(1)");
        for (int i = 0; i < 100; i++) {
            assertEquals((float) Math.log10(f[i] + 1e-10), s[i], "latent " + i);
        }
    }

    @Test
    void replacesAnEarlierExportAndLeavesNoStagingFolders() throws IOException {
        Path dir = tmp.resolve("x2-k7");
        SaeLensWriter.write(dir, TestWeights.random(SaeConfig.topk(48, 2, 7), 10), frequencies(96, 1), INFO);
        SaeWeights second = TestWeights.random(SaeConfig.topk(48, 2, 7), 11);
        SaeLensWriter.write(dir, second, frequencies(96, 1), INFO);

        float[] wEnc = TestTensorFiles.readSafetensors(dir.resolve("sae_weights.safetensors")).get("W_enc").values();
        assertArrayEquals(second.wEnc().toArray("test"), wEnc);
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(dir), s.toList(), "no .tmp-/.old- siblings remain");
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(3, s.count());
        }
    }

    @Test
    void exportGetsTheDefaultPermissionsNotThoseOfATempFile() throws IOException {
        assumeTrue(Files.getFileAttributeView(tmp, PosixFileAttributeView.class) != null, "POSIX permissions only");
        Path plainDir = Files.createDirectory(tmp.resolve("plain"));
        Path plainFile = Files.createFile(tmp.resolve("plain.txt"));
        Path dir = tmp.resolve("x2-k7");
        SaeLensWriter.write(dir, TestWeights.random(SaeConfig.topk(48, 2, 7), 14), frequencies(96, 1), INFO);
        assertEquals(Files.getPosixFilePermissions(plainDir), Files.getPosixFilePermissions(dir));
        Set<PosixFilePermission> filePerms = Files.getPosixFilePermissions(plainFile);
        for (String f : List.of("sae_weights.safetensors", "cfg.json", "sparsity.safetensors")) {
            assertEquals(filePerms, Files.getPosixFilePermissions(dir.resolve(f)), f);
        }
    }

    @Test
    void refusesToReplaceAFolderWithForeignFiles() throws IOException {
        Path dir = tmp.resolve("mine");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("notes.txt"), "keep me");
        UsageException e = assertThrows(UsageException.class, () -> SaeLensWriter.write(dir,
                TestWeights.random(SaeConfig.topk(48, 2, 7), 12), frequencies(96, 1), INFO));
        assertTrue(e.getMessage().contains("notes.txt"), e.getMessage());
        assertEquals("keep me", Files.readString(dir.resolve("notes.txt")));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(dir), s.toList());
        }
    }

    @Test
    void badFiringFrequencyFailsBeforeAnythingIsWritten() throws IOException {
        SaeWeights w = TestWeights.random(SaeConfig.topk(48, 2, 7), 13);
        Path dir = tmp.resolve("x");
        double[] f = frequencies(96, 1);
        f[3] = Double.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SaeLensWriter.write(dir, w, f, INFO));
        assertTrue(e.getMessage().contains("latent 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SaeLensWriter.write(dir, w, new double[95], INFO));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void exportInfoRejectsValuesThatWouldMakeABadCfg() {
        assertThrows(IllegalArgumentException.class, () -> ExportInfo.minimal("r", "v", 0, 0));
        assertThrows(IllegalArgumentException.class, () -> ExportInfo.minimal("r", "v", 0, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> ExportInfo.minimal("r", "v", -1, 1));
        assertThrows(IllegalArgumentException.class, () -> ExportInfo.minimal(" ", "v", 0, 1));
        assertThrows(IllegalArgumentException.class, () -> INFO.withContextSize(0));
        assertThrows(IllegalArgumentException.class, () -> INFO.withHookName(null));
    }
}
