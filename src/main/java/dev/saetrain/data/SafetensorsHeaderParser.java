package dev.saetrain.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.error.BadInputException;
import dev.saetrain.io.DType;
import dev.saetrain.io.SafetensorsRules;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the header of a .safetensors file: an 8-byte little-endian header length N, then N bytes of JSON
 * mapping tensor names to {@code {dtype, shape, data_offsets: [begin, end]}} (offsets relative to the byte
 * after the header), plus an optional {@code __metadata__}. The shard's activations are the only tensor,
 * or the tensor named {@code activations} when there are several.
 */
final class SafetensorsHeaderParser {
    /** The key a multi-tensor file must use for its activations. */
    static final String ACTIVATIONS = "activations";
    /** The safetensors reference implementation refuses headers over 100 MB; so do we. */
    private static final long MAX_HEADER = 100_000_000L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsHeaderParser() {
    }

    /** Parses the header of {@code file}, open as {@code ch}, into its layout. */
    static ShardLayout parse(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new BadInputException(file, "not a .safetensors file: only " + size
                    + " bytes, less than the 8-byte header length; the file is truncated or empty");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.getLong(0);
        if (headerLen < 2 || headerLen > MAX_HEADER || headerLen > size - 8) {
            throw new BadInputException(file, "malformed .safetensors header: header length " + headerLen
                    + " does not fit the " + size + "-byte file; the file is truncated or not safetensors");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        readFully(ch, hb, 8);
        String text = StandardCharsets.UTF_8.decode(hb.flip()).toString();
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new BadInputException(file, "malformed .safetensors header: invalid JSON ("
                    + e.getOriginalMessage() + "); regenerate the file with safetensors.save_file", e);
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(file, "malformed .safetensors header: the JSON header is not an object; "
                    + "regenerate the file with safetensors.save_file");
        }
        long dataStart = 8 + headerLen;
        List<String> names = new ArrayList<>();
        Map<String, long[]> ranges = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getKey().equals("__metadata__")) {
                names.add(e.getKey());
                ranges.put(e.getKey(), offsets(file, e.getKey(), e.getValue(), size - dataStart));
            }
        }
        String name;
        if (names.size() == 1) {
            name = names.get(0);
        } else if (root.has(ACTIVATIONS)) {
            name = ACTIVATIONS;
        } else {
            throw new BadInputException(file, "holds " + names.size() + " tensors " + abbreviate(names)
                    + " and none is named '" + ACTIVATIONS + "'; save one tensor, or name the activations '"
                    + ACTIVATIONS + "'");
        }
        JsonNode t = root.get(name);
        DType dtype = dtype(file, name, t.path("dtype").asText(""));
        JsonNode shapeNode = t.path("shape");
        if (!shapeNode.isArray()) {
            throw malformed(file, "tensor '" + name + "' has no shape array");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = SafetensorsRules.natural(shapeNode.get(i));
            if (shape[i] < 0) {
                throw malformed(file, "tensor '" + name + "' has dimension " + shapeNode.get(i)
                        + ", not a non-negative integer");
            }
        }
        long[] off = offsets(file, name, t, size - dataStart);
        ShardLayout layout = new ShardLayout(file, "safetensors", dtype, shape, dataStart + off[0]);
        if (off[1] - off[0] != layout.payloadBytes()) {
            throw malformed(file, "tensor '" + name + "' has data_offsets " + off[0] + ".." + off[1] + " ("
                    + (off[1] - off[0]) + " bytes) but its shape and dtype need " + layout.payloadBytes() + " bytes");
        }
        // After the activations' own checks, which name the commoner defects more precisely.
        String tiling = SafetensorsRules.tilingProblem(ranges, size - dataStart);
        if (tiling != null) {
            throw malformed(file, tiling);
        }
        return layout;
    }

    /** The [begin, end) offsets of a tensor, checked to be ordered and, for end, within the payload. */
    private static long[] offsets(Path file, String name, JsonNode t, long payloadSize) {
        JsonNode o = t.path("data_offsets");
        if (!o.isArray() || o.size() != 2 || SafetensorsRules.natural(o.get(0)) < 0
                || SafetensorsRules.natural(o.get(1)) < 0) {
            throw malformed(file, "tensor '" + name + "' needs data_offsets [begin, end] of non-negative integers, got "
                    + o);
        }
        long begin = o.get(0).asLong();
        long end = o.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw malformed(file, "tensor '" + name + "' has inconsistent data_offsets [" + begin + ", " + end + "]");
        }
        if (end > payloadSize) {
            throw new BadInputException(file, "payload is shorter than the header says: tensor '" + name
                    + "' ends at byte " + end + " of the data but only " + payloadSize
                    + " bytes follow the header; the file is truncated, copy or regenerate it");
        }
        return new long[] {begin, end};
    }

    private static DType dtype(Path file, String name, String s) {
        switch (s) {
            case "F32":
                return DType.F32;
            case "F16":
                return DType.F16;
            case "BF16":
                return DType.BF16;
            default:
                throw new BadInputException(file, "unsupported dtype '" + s + "' of tensor '" + name
                        + "': only F32, F16 and BF16 are read; convert with tensor.float() before saving");
        }
    }

    private static BadInputException malformed(Path file, String what) {
        return new BadInputException(file, "malformed .safetensors header: " + what
                + "; regenerate the file with safetensors.save_file");
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 5 ? names.toString() : names.subList(0, 5) + " (and " + (names.size() - 5) + " more)";
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        long start = at;
        while (b.hasRemaining()) {
            if (ch.read(b, start + b.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }
}
