package dev.saetrain.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.error.BadInputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a whole .safetensors file that {@link SafetensorsWriter} wrote back into {@link Tensor}s: F32 as
 * float[], I32 as int[], I64 as long[] (F16/BF16 are widened to float[]). Meant for our own files
 * (checkpoints), which are read into memory at once; activation shards go through data/'s streaming readers.
 * Every tensor's offsets must lie inside the payload and match its shape, or the file is refused by name
 * ({@link BadInputException}: a damaged file is bad input, exit 2).
 */
public final class SafetensorsReader {
    // A tensor named twice in the header is damage, not a last-one-wins.
    private static final ObjectMapper JSON = new ObjectMapper().enable(
            com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
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

    /**
     * One tensor's entry in the header.
     *
     * @param begin offset of its first byte in the file (header included)
     * @param end   offset one past its last byte in the file
     */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        /** Elements in the tensor. */
        public long numel() {
            return (end - begin) / dtype.bytes();
        }
    }

    /** The header of a file: its tensors in file order, with offsets checked against the file's size. */
    public record Header(List<Entry> tensors, Map<String, String> metadata) {
        public Header {
            tensors = List.copyOf(tensors);
            metadata = Map.copyOf(metadata);
        }
    }

    /**
     * Reads and checks {@code file}'s header without its payload (for scanning a large file in chunks).
     *
     * @throws BadInputException naming the file when it is truncated or its header is malformed
     */
    public static Header header(Path file) throws IOException {
        InputFiles.requireRegularFile(file, ".safetensors file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return header(file, ch);
        }
    }

    private static Header header(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw malformed(file, "only " + size + " bytes, less than the 8-byte header length");
        }
        long headerLen = readFully(file, ch, 0, 8).getLong(0);
        if (headerLen < 2 || headerLen > MAX_HEADER || headerLen > size - 8) {
            throw malformed(file, "header length " + headerLen + " does not fit the " + size + "-byte file");
        }
        String text = StandardCharsets.UTF_8.decode(readFully(file, ch, 8, (int) headerLen)).toString();
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
        List<Entry> tensors = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            tensors.add(entry(file, e.getKey(), e.getValue(), base, payload));
        }
        // Each tensor is checked (offsets, shape, size) before the ranges' tiling, which names the first defect.
        Map<String, long[]> ranges = new LinkedHashMap<>();
        for (Entry e : tensors) {
            ranges.put(e.name(), new long[] {e.begin() - base, e.end() - base});
        }
        String tiling = SafetensorsRules.tilingProblem(ranges, payload);
        if (tiling != null) {
            throw malformed(file, tiling);
        }
        return new Header(tensors, metadata);
    }

    /** Reads {@code file}; throws {@link BadInputException} naming the file when it is truncated or malformed. */
    public static Contents read(Path file) throws IOException {
        InputFiles.requireRegularFile(file, ".safetensors file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Header h = header(file, ch);
            for (Entry e : h.tensors()) {
                tensors.put(e.name(), tensor(file, ch, e));
            }
            return new Contents(tensors, h.metadata());
        }
    }

    private static Entry entry(Path file, String name, JsonNode t, long base, long payload) {
        if (!t.isObject()) {
            throw malformed(file, "tensor '" + name + "' is not described by an object");
        }
        DType dtype = dtype(file, name, t.path("dtype").asText());
        JsonNode shapeNode = t.path("shape");
        JsonNode off = t.path("data_offsets");
        if (!shapeNode.isArray() || !off.isArray() || off.size() != 2) {
            throw malformed(file, "tensor '" + name + "' lacks a shape array or a [begin, end] data_offsets pair");
        }
        long[] shape = new long[shapeNode.size()];
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            // A string or fraction is damage, not a dimension: asLong would read "12" as 12 and 1.5 as 1.
            shape[i] = SafetensorsRules.natural(shapeNode.get(i));
            if (shape[i] < 0) {
                throw malformed(file, "tensor '" + name + "' has a negative or non-integer dimension");
            }
            try {
                n = Math.multiplyExact(n, shape[i]);
            } catch (ArithmeticException overflow) {
                throw malformed(file, "tensor '" + name + "' has a shape too large to exist");
            }
        }
        long begin = SafetensorsRules.natural(off.get(0));
        long end = SafetensorsRules.natural(off.get(1));
        if (begin < 0 || end < 0 || end > payload || end - begin != n * dtype.bytes()) {
            throw malformed(file, "tensor '" + name + "' has data_offsets [" + begin + ", " + end + "] that do not hold "
                    + n + " " + dtype.safetensorsName() + " values inside the " + payload + "-byte payload");
        }
        return new Entry(name, dtype, shape, base + begin, base + end);
    }

    private static Tensor tensor(Path file, FileChannel ch, Entry e) throws IOException {
        long n = e.numel();
        DType dtype = e.dtype();
        if (n > Integer.MAX_VALUE / 8) {
            throw malformed(file, "tensor '" + e.name() + "' has " + n + " elements, more than one Java array holds");
        }
        ByteBuffer b = readFully(file, ch, e.begin(), Math.toIntExact(e.end() - e.begin()));
        long[] shape = e.shape();
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
        throw new BadInputException(file, "tensor '" + name + "' has dtype '" + s
                + "', which sae-train does not read (F32, F16, BF16, I32, I64)");
    }

    /** Reads {@code len} bytes at {@code at}; the file shrinking under us is damage named by its file. */
    static ByteBuffer readFully(Path file, FileChannel ch, long at, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        long pos = at;
        while (b.hasRemaining()) {
            int r = ch.read(b, pos);
            if (r < 0) {
                throw malformed(file, "it ends at byte " + pos + ", inside a tensor (truncated while being read)");
            }
            pos += r;
        }
        return b.flip().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Damage is bad input (exit 2), not a failing disk: the file can be replaced, the machine is fine. */
    private static BadInputException malformed(Path file, String what) {
        return new BadInputException(file, "not a valid .safetensors file: " + what
                + "; the file is damaged or truncated, restore it from where it came from");
    }
}
