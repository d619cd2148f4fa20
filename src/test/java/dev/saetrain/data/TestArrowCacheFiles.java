package dev.saetrain.data;

import dev.saetrain.io.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/** Good and bad SAELens caches for tests outside this package (ctx = 4, d = 16, 2 files of 300 sequences). */
public final class TestArrowCacheFiles {
    public static final int CTX = 4;
    public static final int D = 16;
    private static final String FILE = "data-00000-of-00001.arrow";

    private TestArrowCacheFiles() {
    }

    /** A cache as SAELens writes it: 2 files, batches of 128 sequences. */
    public static Path good(Path dir, String hook, DType dtype) throws IOException {
        return TestArrowCaches.write(dir, hook, CTX, D, dtype, 2, 300, 128);
    }

    /** Only {@code token_ids}: no activation column. */
    public static Path tokensOnly(Path dir) throws IOException {
        TestArrowCaches.writeFile(dir.resolve(FILE), new Schema(List.of(TestArrowCaches.tokens(CTX))), 0, 10, 4, CTX, D);
        TestArrowCaches.writeJson(dir, List.of(FILE), "{\"token_ids\": {}}");
        return dir;
    }

    /** Two Array2D float columns. */
    public static Path twoHooks(Path dir) throws IOException {
        TestArrowCaches.writeFile(dir.resolve(FILE), new Schema(List.of(TestArrowCaches.array2d("a", CTX, D, DType.F32),
                TestArrowCaches.array2d("b", CTX, D, DType.F32))), 0, 10, 4, CTX, D);
        TestArrowCaches.writeJson(dir, List.of(FILE), "{\"a\": {}, \"b\": {}}");
        return dir;
    }

    /** The hook column as a 1-D {@code list<float>} of ctx * d values per sequence: not a 2-D array. */
    public static Path flatHook(Path dir, String hook) throws IOException {
        Field item = new Field("item", FieldType.nullable(new ArrowType.FloatingPoint(
                org.apache.arrow.vector.types.FloatingPointPrecision.SINGLE)), null);
        Field flat = new Field(hook, FieldType.nullable(ArrowType.List.INSTANCE), List.of(item));
        TestArrowCaches.writeFile(dir.resolve(FILE), new Schema(List.of(flat, TestArrowCaches.tokens(CTX))), 0, 10, 4,
                CTX, D);
        TestArrowCaches.writeJson(dir, List.of(FILE), "{\"" + hook + "\": {}, \"token_ids\": {}}");
        return dir;
    }
}
