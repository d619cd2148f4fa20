package dev.saetrain.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.error.BadInputException;
import dev.saetrain.io.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flatbuf.Field;
import org.apache.arrow.flatbuf.FixedSizeList;
import org.apache.arrow.flatbuf.FloatingPoint;
import org.apache.arrow.flatbuf.Int;
import org.apache.arrow.flatbuf.Precision;
import org.apache.arrow.flatbuf.Schema;
import org.apache.arrow.flatbuf.Type;

/**
 * The top-level columns of a cache's Arrow schema, with where each one's field nodes and buffers start in a record
 * batch (the IPC format lists them depth first: a field's own buffers, then its children's).
 *
 * <p>What a SAELens cache holds ({@code CacheActivationsRunner}, features {@code {hook: Array2D((ctx, d), dtype),
 * "token_ids": Sequence(Value("int32"), length=ctx)}}): the hook column is the {@code datasets} extension type
 * {@value #ARRAY2D} (field metadata {@code ARROW:extension:name}, and {@code ARROW:extension:metadata} =
 * {@code [[ctx, d], "float32"]}) stored as {@code list<list<float>>} with int32 offsets (datasets' {@code
 * _ArrayXDExtensionType._generate_dtype} nests plain lists; a row is one sequence); {@code token_ids} is
 * {@code fixed_size_list<int32>[ctx]}. Buffers: a list has validity and offsets, a fixed-size list validity, a
 * primitive validity and values.
 *
 * @param name       column name
 * @param firstNode  index of its field node in a record batch
 * @param firstBuf   index of its first buffer
 * @param arrayDims  for a {@code list<list<float>>} column: 2; otherwise the list depth above a non-list leaf
 * @param floatLeaf  whether the leaf is a floating-point type (of any precision)
 * @param dtype      the leaf's element type when it is float16, float32 or int32, else null (float64 included)
 * @param shape      the Array2D extension's declared shape {@code [ctx, d]}, or null without that extension
 * @param fixedSize  for a {@code fixed_size_list}: its size, else 0
 */
record ArrowColumns(String name, int firstNode, int firstBuf, int arrayDims, boolean floatLeaf, DType dtype, long[] shape,
                    int fixedSize) {
    /** The {@code datasets} extension name of {@code Array2D}: module and class of {@code Array2DExtensionType}. */
    static final String ARRAY2D = "datasets.features.features.Array2DExtensionType";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Whether this is a 2-D float array column: a candidate hook column. */
    boolean isActivations() {
        return arrayDims == 2 && fixedSize == 0 && floatLeaf;
    }

    /** The columns of {@code schema}, in order. */
    static List<ArrowColumns> of(Path file, Schema schema) {
        List<ArrowColumns> out = new ArrayList<>();
        int[] cursor = new int[2]; // next node, next buffer
        for (int i = 0; i < schema.fieldsLength(); i++) {
            Field f = schema.fields(i);
            int node = cursor[0];
            int buf = cursor[1];
            int depth = 0;
            int fixed = 0;
            Field leaf = f;
            while ((leaf.typeType() == Type.List || leaf.typeType() == Type.FixedSizeList) && leaf.childrenLength() == 1) {
                if (leaf.typeType() == Type.FixedSizeList && depth == 0) {
                    fixed = ((FixedSizeList) leaf.type(new FixedSizeList())).listSize();
                }
                depth++;
                leaf = leaf.children(0);
            }
            skip(file, f, cursor);
            out.add(new ArrowColumns(f.name(), node, buf, depth, leaf.typeType() == Type.FloatingPoint, leafType(leaf), array2dShape(file, f), fixed));
        }
        return out;
    }

    private static DType leafType(Field leaf) {
        if (leaf.typeType() == Type.FloatingPoint) {
            return switch (((FloatingPoint) leaf.type(new FloatingPoint())).precision()) {
                case Precision.HALF -> DType.F16;
                case Precision.SINGLE -> DType.F32;
                default -> null;
            };
        }
        if (leaf.typeType() == Type.Int) {
            Int t = (Int) leaf.type(new Int());
            return t.bitWidth() == 32 && t.isSigned() ? DType.I32 : null;
        }
        return null;
    }

    /** [ctx, d] from the Array2D extension metadata, or null when the field is not an Array2D. */
    private static long[] array2dShape(Path file, Field f) {
        String name = null;
        String meta = null;
        for (int i = 0; i < f.customMetadataLength(); i++) {
            String k = f.customMetadata(i).key();
            if ("ARROW:extension:name".equals(k)) {
                name = f.customMetadata(i).value();
            } else if ("ARROW:extension:metadata".equals(k)) {
                meta = f.customMetadata(i).value();
            }
        }
        if (!ARRAY2D.equals(name)) {
            return null;
        }
        try {
            JsonNode shape = JSON.readTree(meta).get(0);
            if (shape.size() != 2 || !shape.get(0).canConvertToLong() || !shape.get(1).canConvertToLong()) {
                throw new IllegalArgumentException("shape " + shape);
            }
            return new long[] {shape.get(0).asLong(), shape.get(1).asLong()};
        } catch (Exception e) {
            throw new BadInputException(file, "column " + f.name() + ": unreadable Array2D metadata '" + meta
                    + "' (expected [[context_size, d_in], \"dtype\"]); regenerate the cache");
        }
    }

    /** Advances {@code cursor} past the nodes and buffers of {@code f} and its children. */
    private static void skip(Path file, Field f, int[] cursor) {
        cursor[0]++;
        cursor[1] += switch (f.typeType()) {
            case Type.Null -> 0;
            case Type.FixedSizeList, Type.Struct_ -> 1;
            case Type.Int, Type.FloatingPoint, Type.Bool, Type.Decimal, Type.Date, Type.Time, Type.Timestamp,
                 Type.Interval, Type.Duration, Type.FixedSizeBinary, Type.List, Type.LargeList, Type.Map -> 2;
            case Type.Binary, Type.Utf8, Type.LargeBinary, Type.LargeUtf8 -> 3;
            default -> throw new BadInputException(file, "column " + f.name() + " has an Arrow type ("
                    + Type.name(f.typeType()) + ") this reader does not lay out; a SAELens activation cache holds only "
                    + "the hook column and token_ids, remove the extra column");
        };
        for (int i = 0; i < f.childrenLength(); i++) {
            skip(file, f.children(i), cursor);
        }
    }
}
