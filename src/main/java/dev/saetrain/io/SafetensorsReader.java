package dev.saetrain.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.data.BadInputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a whole .safetensors file that {@link SafetensorsWriter} wrote back into {@link Tensor}s: F32 as
 * float[], I32 as int[], I64 as long[] (F16/BF16 are widened to float[]). Meant for our own files
 * (checkpoints), which are read into memory at once; activation shards go through data/'s streaming readers.
 * Every tensor's offsets must lie inside the payload and match its shape, or the file is refused by name.
 */
public final class SafetensorsReader {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100_000_000L;

    /** The tensors in file order and the {@code __metadata__} strings (empty if none). */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
        public Contents {
            tensors = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
            metadata = Map.copyOf(metadata);
        }
    }

    private SafetensorsReader() {
    }

    /** Reads {@code file}; throws BadInputException naming the file when it is truncated or malformed. */
    public static Contents read(Path file) throws IOException {
        InputFiles.requireRegularFile(file, ".safetensors file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw malformed(file, "only " + size + " bytes, less than the 8-byte header length");
            }
            long headerLen = readFully(ch, 0, 8).getLong(0);
            if (headerLen < 2 || headerLen > MAX_HEADER || headerLen > size - 8) {
                throw malformed(file, "header length " + headerLen + " does not fit the " + size + "-byte file");
            }
            String text = StandardCharsets.UTF_8.decode(readFully(ch, 8, (int) headerLen)).toString();
            JsonNode root;
            try {
                root = JSON.readTree(text);
            } catch (JsonProcessingException e) {
                throw malformed(file, "invalid JSON header (" + e.getOriginalMessage() + ")");
            }
            if (root == null || !root.isObject()) {
                throw malformed(file, "the header is not a JSON object");
            }
            long base = 8 + headerLen;
            long payload = size - base;
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, long[]> ranges = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getKey().equals("__metadata__")) {
                    JsonNode off = e.getValue().path("data_offsets");
                    ranges.put(e.getKey(), new long[] {SafetensorsRules.natural(off.path(0)),
                            SafetensorsRules.natural(off.path(1))});
                }
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                tensors.put(e.getKey(), tensor(file, ch, e.getKey(), e.getValue(), base, payload));
            }
            // Each tensor is checked (offsets, shape, size) before the ranges' tiling, which names the first defect.
            String tiling = SafetensorsRules.tilingProblem(ranges, payload);
            if (tiling != null) {
                throw malformed(file, tiling);
            }
            return new Contents(tensors, metadata);
        }
    }

    private static Tensor tensor(Path file, FileChannel ch, String name, JsonNode t, long base, long payload)
            throws IOException {
        DType dtype = dtype(file, name, t.path("dtype").asText());
        JsonNode shapeNode = t.path("shape");
        JsonNode off = t.path("data_offsets");
        if (!shapeNode.isArray() || !off.isArray() || off.size() != 2) {
            throw malformed(file, "tensor '" + name + "' lacks a shape array or a [begin, end] data_offsets pair");
        }
        long[] shape = new long[shapeNode.size()];
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = SafetensorsRules.natural(shapeNode.get(i));
            if (shape[i] < 0) {
                throw malformed(file, "tensor '" + name + "' has a negative or non-integer dimension");
            }
            n = Math.multiplyExact(n, shape[i]);
        }
        long begin = SafetensorsRules.natural(off.get(0));
        long end = SafetensorsRules.natural(off.get(1));
        if (begin < 0 || end < 0 || end > payload || end - begin != n * dtype.bytes()) {
            throw malformed(file, "tensor '" + name + "' has data_offsets [" + begin + ", " + end + "] that do not hold "
                    + n + " " + dtype.safetensorsName() + " values inside the " + payload + "-byte payload");
        }
        if (n > Integer.MAX_VALUE / 8) {
            throw malformed(file, "tensor '" + name + "' has " + n + " elements, more than one Java array holds");
        }
        ByteBuffer b = readFully(ch, base + begin, Math.toIntExact(end - begin));
        int count = (int) n;
        Object data = switch (dtype) {
            case F32 -> {
                float[] a = new float[count];
                b.asFloatBuffer().get(a);
                yield a;
            }
            case F16, BF16 -> {
                float[] a = new float[count];
                for (int i = 0; i < count; i++) {
                    short h = b.getShort(2 * i);
                    a[i] = dtype == DType.F16 ? Half.f16ToFloat(h) : Half.bf16ToFloat(h);
                }
                yield a;
            }
            case I32 -> {
                int[] a = new int[count];
                b.asIntBuffer().get(a);
                yield a;
            }
            case I64 -> {
                long[] a = new long[count];
                b.asLongBuffer().get(a);
                yield a;
            }
        };
        return new Tensor(dtype == DType.F32 || dtype == DType.I32 || dtype == DType.I64 ? dtype : DType.F32, shape, data);
    }

    private static DType dtype(Path file, String name, String s) {
        for (DType d : DType.values()) {
            if (d.safetensorsName().equals(s)) {
                return d;
            }
        }
        throw new IllegalArgumentException(file + ": tensor '" + name + "' has dtype '" + s
                + "', which sae-train does not read (F32, F16, BF16, I32, I64)");
    }

    private static ByteBuffer readFully(FileChannel ch, long at, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        long pos = at;
        while (b.hasRemaining()) {
            int r = ch.read(b, pos);
            if (r < 0) {
                throw new IOException("unexpected end of file at byte " + pos);
            }
            pos += r;
        }
        return b.flip().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Bad input (exit 2), not an I/O failure of the machine: the bytes are there and wrong. */
    private static BadInputException malformed(Path file, String what) {
        return new BadInputException(file, "not a valid .safetensors file: " + what
                + "; the file is damaged, delete it (a checkpoint: resume from the one before)");
    }
}
