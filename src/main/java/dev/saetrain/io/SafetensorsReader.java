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
 * The project's one reader of the safetensors format: an 8-byte little-endian header length N, then N bytes of JSON
 * mapping tensor names to {@code {dtype, shape, data_offsets: [begin, end]}} (offsets relative to the byte after the
 * header), plus an optional {@code __metadata__}, then the payload. {@link #header} parses and checks the header
 * alone (activation shards, which data/ maps in chunks, and checkpoint scans); {@link #read} reads a whole file into
 * {@link Tensor}s: float vectors (F32, and F16/BF16 widened) as float[], float tensors of two or more dimensions as
 * a {@link HostMatrix} (any size: paged, 64-bit offsets), I32 as int[], I64 as long[]. Every tensor's
 * offsets must lie inside the payload and match its shape and dtype, and the tensors must tile the payload
 * ({@link SafetensorsRules}), or the file is refused by name ({@link BadInputException}: a damaged file is bad input,
 * exit 2).
 */
public final class SafetensorsReader {
    // A tensor named twice in the header is damage, not a last-one-wins.
    private static final ObjectMapper JSON = new ObjectMapper().enable(
            com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    /** The safetensors reference implementation refuses headers over 100 MB; so do we. */
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
     * @param dtypeName its dtype as the header spells it ("F32", "U8", ...)
     * @param shape     its shape as stored
     * @param begin     offset of its first byte in the file (header included)
     * @param end       offset one past its last byte in the file
     */
    public record Entry(String name, String dtypeName, long[] shape, long begin, long end) {
        /** Its dtype, or null when it is one sae-train does not read (its size is then unchecked, its range is). */
        public DType dtype() {
            return knownDtype(dtypeName);
        }

        /** Elements in the tensor (its dtype must be one sae-train reads). */
        public long numel() {
            return (end - begin) / dtype().bytes();
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
     * Reads and checks {@code file}'s header without its payload (for scanning a large file in chunks); every tensor's
     * dtype must be one sae-train reads.
     *
     * @throws BadInputException naming the file when it is truncated or its header is malformed
     */
    public static Header header(Path file) throws IOException {
        InputFiles.requireRegularFile(file, ".safetensors file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return requireKnownDtypes(file, header(file, ch));
        }
    }

    /**
     * Reads and checks the header of {@code file}, open as {@code ch}. A tensor of a dtype sae-train does not read is
     * kept with {@link Entry#dtype()} null (a shard may carry token ids beside its activations); the caller refuses
     * it if it needs that tensor.
     *
     * @throws BadInputException naming the file when it is truncated or its header is malformed
     */
    public static Header header(Path file, FileChannel ch) throws IOException {
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
            Header h = requireKnownDtypes(file, header(file, ch));
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
        String dtypeName = t.path("dtype").asText("");
        JsonNode shapeNode = t.path("shape");
        if (!shapeNode.isArray()) {
            throw malformed(file, "tensor '" + name + "' has no shape array");
        }
        long[] shape = new long[shapeNode.size()];
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            // A string or fraction is damage, not a dimension: asLong would read "12" as 12 and 1.5 as 1.
            shape[i] = SafetensorsRules.natural(shapeNode.get(i));
            if (shape[i] < 0) {
                throw malformed(file, "tensor '" + name + "' has dimension " + shapeNode.get(i)
                        + ", not a non-negative integer");
            }
            try {
                n = Math.multiplyExact(n, shape[i]);
            } catch (ArithmeticException overflow) {
                throw malformed(file, "tensor '" + name + "' has a shape too large to exist");
            }
        }
        JsonNode off = t.path("data_offsets");
        if (!off.isArray() || off.size() != 2 || SafetensorsRules.natural(off.get(0)) < 0
                || SafetensorsRules.natural(off.get(1)) < 0) {
            throw malformed(file, "tensor '" + name + "' needs data_offsets [begin, end] of non-negative integers, got "
                    + (off.isMissingNode() ? "none" : off));
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (end < begin) {
            throw malformed(file, "tensor '" + name + "' has inconsistent data_offsets [" + begin + ", " + end + "]");
        }
        if (end > payload) {
            throw malformed(file, "payload is shorter than the header says: tensor '" + name + "' ends at byte " + end
                    + " of the data but only " + payload + " bytes follow the header");
        }
        DType dtype = knownDtype(dtypeName);
        if (dtype != null) {
            long need;
            try {
                need = Math.multiplyExact(n, dtype.bytes());
            } catch (ArithmeticException overflow) {
                throw malformed(file, "tensor '" + name + "' has a shape too large to exist");
            }
            if (end - begin != need) {
                throw malformed(file, "tensor '" + name + "' has data_offsets " + begin + ".." + end + " ("
                        + (end - begin) + " bytes) but its shape and dtype need " + need + " bytes");
            }
        }
        return new Entry(name, dtypeName, shape, base + begin, base + end);
    }

    /**
     * Reads the one tensor {@code e} of {@code file} (open as {@code ch}, its header from {@link #header}), as
     * {@link #read} would.
     */
    public static Tensor tensor(Path file, FileChannel ch, Entry e) throws IOException {
        if (e.dtype() == null) {
            requireKnownDtypes(file, new Header(List.of(e), Map.of()));
        }
        long n = e.numel();
        DType dtype = e.dtype();
        boolean floating = dtype == DType.F32 || dtype == DType.F16 || dtype == DType.BF16;
        if (floating && e.shape().length >= 2) {
            return new Tensor(DType.F32, e.shape(), matrix(file, ch, e));
        }
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

    /** Bytes read at a time into a matrix's pages. */
    private static final int READ_CHUNK = 1 << 24;

    /**
     * A float tensor of two or more dimensions as a {@link HostMatrix} [product of the leading dimensions, last
     * dimension], widened to fp32, read a chunk at a time with 64-bit offsets: its size has no 2 GiB limit.
     */
    private static HostMatrix matrix(Path file, FileChannel ch, Entry e) throws IOException {
        long[] shape = e.shape();
        long cols = shape[shape.length - 1];
        long rows = cols == 0 ? 0 : e.numel() / cols;
        if (cols > HostMatrix.MAX_ARRAY || rows > Integer.MAX_VALUE) {
            throw malformed(file, "tensor '" + e.name() + "' of shape " + java.util.Arrays.toString(shape)
                    + " has rows longer than a Java array (" + HostMatrix.MAX_ARRAY + " floats) or more than 2^31 - 1 "
                    + "of them");
        }
        HostMatrix h = new HostMatrix((int) rows, (int) cols);
        DType dtype = e.dtype();
        int width = dtype.bytes();
        int perChunk = READ_CHUNK / width;
        long total = h.size();
        float[] vals = new float[(int) Math.min(perChunk, Math.max(1, total))];
        for (long done = 0; done < total; done += vals.length) {
            int n = (int) Math.min(vals.length, total - done);
            ByteBuffer b = readFully(file, ch, e.begin() + done * width, n * width);
            switch (dtype) {
                case F32 -> b.asFloatBuffer().get(vals, 0, n);
                case F16 -> {
                    for (int i = 0; i < n; i++) {
                        vals[i] = Half.f16ToFloat(b.getShort(2 * i));
                    }
                }
                default -> {
                    for (int i = 0; i < n; i++) {
                        vals[i] = Half.bf16ToFloat(b.getShort(2 * i));
                    }
                }
            }
            h.set(done, vals, 0, n);
        }
        return h;
    }

    /** The DType the header name {@code s} stands for, or null when sae-train does not read it. */
    private static DType knownDtype(String s) {
        for (DType d : DType.values()) {
            if (d.safetensorsName().equals(s)) {
                return d;
            }
        }
        return null;
    }

    private static Header requireKnownDtypes(Path file, Header h) {
        for (Entry e : h.tensors()) {
            if (e.dtype() == null) {
                throw new BadInputException(file, "tensor '" + e.name() + "' has dtype '" + e.dtypeName()
                        + "', which sae-train does not read (F32, F16, BF16, I32, I64)");
            }
        }
        return h;
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
                + "; the file is damaged or truncated: restore it from where it came from, or regenerate it");
    }
}
