package dev.saetrain.data;

import dev.saetrain.io.DType;
import dev.saetrain.io.Half;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float2Vector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Writes SAELens activation caches with Apache Arrow's Java IPC stream writer, laid out as {@code datasets}'
 * {@code save_to_disk} writes what {@code CacheActivationsRunner} builds (checked against datasets 5.0.1 and pyarrow
 * 25.0.1, see the README): per file one Arrow IPC stream; the hook column a {@code list<list<float>>} (float32 or
 * halffloat) whose field metadata carries the extension type ({@code ARROW:extension:name} =
 * {@value ArrowColumns#ARRAY2D}, {@code ARROW:extension:metadata} = {@code [[ctx, d], "float32"]}), exactly what
 * pyarrow serialises for datasets' {@code Array2DExtensionType}; {@code token_ids} a
 * {@code fixed_size_list<int32>[ctx]}; the schema metadata {@code huggingface}; and {@code state.json},
 * {@code dataset_info.json} beside the files. Values: sequence s, position p, column j of the whole cache is
 * {@link #value}, token (s * ctx + p) mod 50257.
 */
final class TestArrowCaches {
    private TestArrowCaches() {
    }

    /** The value at global sequence s, position p, column j (exact in fp16 for small caches). */
    static float value(long s, int p, int j) {
        return ((s * 7 + p * 3 + j) % 41 - 20) / 8f;
    }

    /** The hook column's Arrow field: Array2D as pyarrow writes it. */
    static Field array2d(String name, int ctx, int d, DType dtype) {
        String dt = dtype == DType.F16 ? "float16" : "float32";
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("ARROW:extension:name", ArrowColumns.ARRAY2D);
        meta.put("ARROW:extension:metadata", "[[" + ctx + ", " + d + "], \"" + dt + "\"]");
        ArrowType leaf = new ArrowType.FloatingPoint(dtype == DType.F16 ? FloatingPointPrecision.HALF
                : FloatingPointPrecision.SINGLE);
        Field values = new Field("item", FieldType.nullable(leaf), null);
        Field inner = new Field("item", FieldType.nullable(ArrowType.List.INSTANCE), List.of(values));
        return new Field(name, new FieldType(true, ArrowType.List.INSTANCE, null, meta), List.of(inner));
    }

    static Field tokens(int ctx) {
        Field item = new Field("item", FieldType.nullable(new ArrowType.Int(32, true)), null);
        return new Field("token_ids", FieldType.nullable(new ArrowType.FixedSizeList(ctx)), List.of(item));
    }

    /**
     * A cache of {@code files} files with batches of {@code seqPerBatch} sequences ({@code seqPerFile} per file,
     * the last batch of each file shorter when they do not divide), hook column {@code hook}.
     */
    static Path write(Path dir, String hook, int ctx, int d, DType dtype, int files, int seqPerFile, int seqPerBatch)
            throws IOException {
        Schema schema = new Schema(List.of(array2d(hook, ctx, d, dtype), tokens(ctx)), Map.of("huggingface",
                "{\"info\": {\"features\": " + features(hook, ctx, d, dtype) + "}}"));
        List<String> names = new ArrayList<>();
        for (int f = 0; f < files; f++) {
            String name = String.format("data-%05d-of-%05d.arrow", f, files);
            names.add(name);
            writeFile(dir.resolve(name), schema, (long) f * seqPerFile, seqPerFile, seqPerBatch, ctx, d);
        }
        writeJson(dir, names, features(hook, ctx, d, dtype));
        return dir;
    }

    static String features(String hook, int ctx, int d, DType dtype) {
        return "{\"" + hook + "\": {\"shape\": [" + ctx + ", " + d + "], \"dtype\": \""
                + (dtype == DType.F16 ? "float16" : "float32") + "\", \"_type\": \"Array2D\"}, \"token_ids\": "
                + "{\"feature\": {\"dtype\": \"int32\", \"_type\": \"Value\"}, \"length\": " + ctx + ", \"_type\": \"List\"}}";
    }

    static void writeJson(Path dir, List<String> names, String features) throws IOException {
        StringBuilder state = new StringBuilder("{\n  \"_data_files\": [");
        for (int i = 0; i < names.size(); i++) {
            state.append(i == 0 ? "" : ",").append("\n    {\"filename\": \"").append(names.get(i)).append("\"}");
        }
        state.append("\n  ],\n  \"_fingerprint\": \"0123456789abcdef\",\n  \"_format_columns\": null,\n  \"_format_kwargs\": {},"
                + "\n  \"_format_type\": null,\n  \"_output_all_columns\": false,\n  \"_split\": null\n}\n");
        Files.writeString(dir.resolve(ArrowCache.STATE), state);
        Files.writeString(dir.resolve(ArrowCache.INFO), "{\n  \"citation\": \"\",\n  \"description\": \"\",\n  \"features\": "
                + features + ",\n  \"homepage\": \"\",\n  \"license\": \"\"\n}\n");
    }

    /** One IPC stream file of {@code n} sequences from global sequence {@code first}, in batches of {@code perBatch}. */
    static void writeFile(Path file, Schema schema, long first, int n, int perBatch, int ctx, int d) throws IOException {
        Files.createDirectories(file.getParent());
        try (BufferAllocator alloc = new RootAllocator();
             VectorSchemaRoot root = VectorSchemaRoot.create(schema, alloc);
             FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
             ArrowStreamWriter w = new ArrowStreamWriter(root, null, ch)) {
            w.start();
            for (int b = 0; b < n; b += perBatch) {
                int rows = Math.min(perBatch, n - b);
                root.clear();
                for (FieldVector v : root.getFieldVectors()) {
                    if (v instanceof ListVector hook) {
                        fillHook(hook, first + b, rows, ctx, d);
                    } else if (v instanceof FixedSizeListVector tok) {
                        fillTokens(tok, first + b, rows, ctx);
                    }
                }
                root.setRowCount(rows);
                w.writeBatch();
            }
            w.end();
        }
    }

    private static void fillHook(ListVector outer, long firstSeq, int rows, int ctx, int d) {
        outer.allocateNew();
        if (outer.getDataVector() instanceof Float4Vector flat) {
            // A 1-D list<float> column (the "not a 2-D array" case): each sequence's values in one list.
            int val = 0;
            for (int s = 0; s < rows; s++) {
                outer.startNewValue(s);
                for (int i = 0; i < ctx * d; i++) {
                    flat.setSafe(val++, value(firstSeq + s, i / d, i % d));
                }
                outer.endValue(s, ctx * d);
            }
            flat.setValueCount(val);
            outer.setValueCount(rows);
            return;
        }
        ListVector inner = (ListVector) outer.getDataVector();
        FieldVector values = inner.getDataVector();
        int pos = 0;
        int val = 0;
        for (int s = 0; s < rows; s++) {
            outer.startNewValue(s);
            for (int p = 0; p < ctx; p++) {
                inner.startNewValue(pos);
                for (int j = 0; j < d; j++) {
                    float v = value(firstSeq + s, p, j);
                    if (values instanceof Float4Vector f4) {
                        f4.setSafe(val++, v);
                    } else {
                        ((Float2Vector) values).setSafe(val++, Half.floatToF16(v));
                    }
                }
                inner.endValue(pos++, d);
            }
            outer.endValue(s, ctx);
        }
        values.setValueCount(val);
        inner.setValueCount(pos);
        outer.setValueCount(rows);
    }

    private static void fillTokens(FixedSizeListVector tok, long firstSeq, int rows, int ctx) {
        tok.allocateNew();
        IntVector ids = (IntVector) tok.getDataVector();
        for (int s = 0; s < rows; s++) {
            tok.setNotNull(s);
            for (int p = 0; p < ctx; p++) {
                ids.setSafe(s * ctx + p, (int) (((firstSeq + s) * ctx + p) % 50257));
            }
        }
        ids.setValueCount(rows * ctx);
        tok.setValueCount(rows);
    }
}
