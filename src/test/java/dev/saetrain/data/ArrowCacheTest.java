package dev.saetrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.Setting;
import dev.saetrain.io.DType;
import dev.saetrain.io.Half;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SAELens caches written by Arrow's own IPC stream writer ({@link TestArrowCaches}) read back row for row, with their
 * token ids, hook name and context size; and the stream over a cache delivers exactly the batches it delivers over
 * the same rows as .npy shards (same shuffle, scale estimate and positions). Awkward sizes: ctx = 5, d = 12, three
 * files of 11 sequences in batches of 4 (so 4, 4, 3 per file).
 */
class ArrowCacheTest {
    private static final String HOOK = "blocks.6.hook_resid_post";
    private static final int CTX = 5;
    private static final int D = 12;
    private static final int FILES = 3;
    private static final int SEQ = 11;
    private static final int PER_BATCH = 4;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16"})
    void readsEveryRowOfEveryBatchAndFile(DType dtype) throws IOException {
        Path dir = TestArrowCaches.write(tmp.resolve("c"), HOOK, CTX, D, dtype, FILES, SEQ, PER_BATCH);
        ShardSet set = ShardSet.open(dir);
        assertEquals(D, set.dIn());
        assertEquals((long) FILES * SEQ * CTX, set.totalRows());
        ArrowCache cache = set.arrowCache().orElseThrow();
        assertEquals(HOOK, cache.column());
        assertEquals(CTX, cache.contextSize());
        assertEquals(FILES, set.shards().size());
        float[] row = new float[D];
        for (long g = 0; g < set.totalRows(); g++) {
            int s = set.shardOf(g);
            set.shards().get(s).readRows(g - set.offset(s), 1, 1f, row, 0);
            for (int j = 0; j < D; j++) {
                float expected = TestArrowCaches.value(g / CTX, (int) (g % CTX), j);
                assertEquals(dtype == DType.F16 ? Half.f16ToFloat(Half.floatToF16(expected)) : expected, row[j],
                        "row " + g + " column " + j);
            }
        }
        assertTrue(cache.hasTokens());
        int[] ids = cache.tokenIds(1, 17, 12); // crosses from the file's first batch into its second
        for (int i = 0; i < ids.length; i++) {
            assertEquals((int) ((SEQ * CTX + 17 + i) % 50257), ids[i], "token of row " + (17 + i) + " of file 1");
        }
    }

    @Test
    void streamOverACacheEqualsTheStreamOverTheSameRowsAsNpy() throws IOException {
        Path cache = TestArrowCaches.write(tmp.resolve("c"), HOOK, CTX, D, DType.F32, FILES, SEQ, PER_BATCH);
        Path npy = tmp.resolve("npy");
        for (int f = 0; f < FILES; f++) {
            float[] x = new float[SEQ * CTX * D];
            for (int s = 0; s < SEQ; s++) {
                for (int p = 0; p < CTX; p++) {
                    for (int j = 0; j < D; j++) {
                        x[(s * CTX + p) * D + j] = TestArrowCaches.value((long) f * SEQ + s, p, j);
                    }
                }
            }
            NpyWriter.write(npy.resolve("shard-" + f + ".npy"), Tensor.f32(x, SEQ, CTX, D));
        }
        ShardSet a = ShardSet.open(cache);
        ShardSet b = ShardSet.open(npy);
        assertArrayEquals(b.shardRows(), a.shardRows());
        float scale = ActivationStream.estimateScale(a, 100, false);
        assertEquals(ActivationStream.estimateScale(b, 100, false), scale);
        // Two epochs, a shuffle buffer of 40 rows (smaller than a file), so rows cross files and batches.
        StreamOptions o = new StreamOptions(16, 2 * b.totalRows(), 7, 40, scale, false, 2);
        float[] x = new float[16 * D];
        float[] y = new float[16 * D];
        try (ActivationStream sa = new ActivationStream(a, o); ActivationStream sb = new ActivationStream(b, o)) {
            int batches = 0;
            while (sb.next(y)) {
                assertTrue(sa.next(x));
                assertArrayEquals(y, x, "batch " + batches);
                assertEquals(sb.position(), sa.position());
                batches++;
            }
            assertEquals(2 * FILES * SEQ * CTX / 16, batches);
        }
    }

    @Test
    void secondFloatColumnNeedsColumnAndColumnPicksIt() throws IOException {
        Path dir = tmp.resolve("two");
        Schema schema = new Schema(List.of(TestArrowCaches.array2d("a.hook", CTX, D, DType.F32),
                TestArrowCaches.array2d("b.hook", CTX, D, DType.F32)));
        TestArrowCaches.writeFile(dir.resolve("data-00000-of-00001.arrow"), schema, 0, 3, 2, CTX, D);
        String f = TestArrowCaches.features("a.hook", CTX, D, DType.F32);
        TestArrowCaches.writeJson(dir, List.of("data-00000-of-00001.arrow"),
                f.substring(0, f.indexOf(", \"token_ids\"")) + ", " + TestArrowCaches.features("b.hook", CTX, D, DType.F32)
                        .substring(1, TestArrowCaches.features("b.hook", CTX, D, DType.F32).indexOf(", \"token_ids\"")) + "}");
        BadInputException e = assertThrows(BadInputException.class, () -> ShardSet.open(dir));
        assertTrue(e.settings().contains(Setting.COLUMN), e.getMessage());
        ShardSet set = ShardSet.open(dir, "b.hook");
        assertEquals("b.hook", set.arrowCache().orElseThrow().column());
        assertEquals(3 * CTX, set.totalRows());
        assertTrue(!set.arrowCache().get().hasTokens());
    }

    @Test
    void columnGivenToNpyShardsIsRefused() throws IOException {
        Path npy = tmp.resolve("n");
        NpyWriter.write(npy.resolve("a.npy"), Tensor.f32(new float[4 * D], 4, D));
        assertThrows(BadInputException.class, () -> ShardSet.open(npy, "x"));
        assertEquals(4, ShardSet.open(npy).totalRows());
        assertTrue(ShardSet.open(npy).arrowCache().isEmpty());
    }
}
