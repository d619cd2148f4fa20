package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.Setting;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.SafetensorsWriter;
import dev.saetrain.io.Tensor;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnembeddingTest {
    @TempDir
    Path tmp;

    private static float[] matrix(int rows, int cols) {
        float[] a = new float[rows * cols];
        for (int i = 0; i < a.length; i++) {
            a[i] = i * 0.5f - 3;
        }
        return a;
    }

    @Test
    void npyDByVocabIsReadAsIs() throws Exception {
        Path f = tmp.resolve("wu.npy");
        NpyWriter.write(f, Tensor.f32(matrix(3, 5), 3, 5));
        Unembedding u = Unembedding.load(f, 3, null);
        assertEquals(5, u.vocab());
        assertEquals(matrix(3, 5)[7], u.get(1, 2), 0); // [1, 2]
    }

    @Test
    void vocabByDIsTransposed() throws Exception {
        Path f = tmp.resolve("lm_head.safetensors");
        float[] a = matrix(5, 3); // [vocab 5, d 3]
        SafetensorsWriter.write(f, Map.of("lm_head.weight", Tensor.f32(a, 5, 3), "other", Tensor.f32(new float[2], 2)),
                Map.of());
        Unembedding u = Unembedding.load(f, 3, "lm_head.weight");
        assertEquals(5, u.vocab());
        for (int v = 0; v < 5; v++) {
            for (int j = 0; j < 3; j++) {
                assertEquals(a[v * 3 + j], u.get(j, v), 0);
            }
        }
    }

    @Test
    void wrongShapeOrKeyIsAOneLineErrorNamingTheFile() throws Exception {
        Path f = tmp.resolve("wu.npy");
        NpyWriter.write(f, Tensor.f32(matrix(4, 5), 4, 5));
        BadInputException e = assertThrows(BadInputException.class, () -> Unembedding.load(f, 3, null));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("d = 3"), e.getMessage());
        Path g = tmp.resolve("two.safetensors");
        SafetensorsWriter.write(g, Map.of("a", Tensor.f32(matrix(3, 5), 3, 5), "b", Tensor.f32(matrix(3, 5), 3, 5)),
                Map.of());
        BadInputException e2 = assertThrows(BadInputException.class, () -> Unembedding.load(g, 3, null));
        assertTrue(e2.settings().contains(Setting.UNEMBED_KEY), e2.getMessage());
    }

    @Test
    void everyLayoutAndFormatFillsColumnBlocks() throws Exception {
        // W_U [3, 11] in blocks of 4 columns (the last of 3): stored as [d, vocab] and as [vocab, d], in npy and
        // safetensors, each element lands in its block.
        float[] dv = matrix(3, 11);
        float[] vd = new float[33];
        for (int j = 0; j < 3; j++) {
            for (int v = 0; v < 11; v++) {
                vd[v * 3 + j] = dv[j * 11 + v];
            }
        }
        NpyWriter.write(tmp.resolve("dv.npy"), Tensor.f32(dv, 3, 11));
        NpyWriter.write(tmp.resolve("vd.npy"), Tensor.f32(vd, 11, 3));
        SafetensorsWriter.write(tmp.resolve("dv.safetensors"), Map.of("W_U", Tensor.f32(dv, 3, 11)), Map.of());
        SafetensorsWriter.write(tmp.resolve("vd.safetensors"), Map.of("W_U", Tensor.f32(vd, 11, 3)), Map.of());
        for (String f : new String[] {"dv.npy", "vd.npy", "dv.safetensors", "vd.safetensors"}) {
            Unembedding u = Unembedding.load(tmp.resolve(f), 3, null, 12);
            assertEquals(3, u.blocks().length, f);
            assertEquals(4, u.blockCols(), f);
            for (int j = 0; j < 3; j++) {
                for (int v = 0; v < 11; v++) {
                    assertEquals(dv[j * 11 + v], u.get(j, v), 0, f + " [" + j + ", " + v + "]");
                }
            }
        }
    }
}
