package dev.saetrain.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.io.DType;
import dev.saetrain.io.Half;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test-scope readers for what the writers produce: safetensors (8-byte LE header length, JSON header, payload)
 * and npy v1.0 (C order, little-endian F32/F16). Deliberately independent of the production readers in io/ and
 * data/, and strict: any deviation from the format fails the test that uses it.
 */
public final class TestTensorFiles {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NPY_DICT = Pattern.compile(
            "\\{'descr': '(<f4|<f2)', 'fortran_order': False, 'shape': \\(([0-9, ]*)\\), \\} *\n");

    /** One tensor read back: on-disk dtype, shape, and the values widened to float. */
    public record Loaded(DType dtype, long[] shape, float[] values) {
    }

    private TestTensorFiles() {
    }

    /** All tensors of a safetensors file in header order (metadata is skipped). */
    public static Map<String, Loaded> readSafetensors(Path file) throws IOException {
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = all.getLong(0);
        if (headerLen % 8 != 0 || 8 + headerLen > all.capacity()) {
            throw new AssertionError(file + ": bad safetensors header length " + headerLen);
        }
        String text = new String(all.array(), 8, (int) headerLen, StandardCharsets.UTF_8);
        JsonNode header = JSON.readTree(text);
        int payloadStart = 8 + (int) headerLen;
        Map<String, Loaded> out = new LinkedHashMap<>();
        long expectedOffset = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            DType dtype = switch (t.get("dtype").asText()) {
                case "F32" -> DType.F32;
                case "F16" -> DType.F16;
                default -> throw new AssertionError("unexpected dtype " + t.get("dtype"));
            };
            List<Long> dims = new ArrayList<>();
            t.get("shape").forEach(s -> dims.add(s.asLong()));
            long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
            long begin = t.get("data_offsets").get(0).asLong();
            long end = t.get("data_offsets").get(1).asLong();
            if (begin != expectedOffset) {
                throw new AssertionError(e.getKey() + " starts at " + begin + ", expected " + expectedOffset);
            }
            expectedOffset = end;
            int n = Math.toIntExact(numel(shape));
            if (end - begin != (long) n * dtype.bytes()) {
                throw new AssertionError(e.getKey() + ": offsets do not match the shape");
            }
            out.put(e.getKey(), new Loaded(dtype, shape, decode(all, payloadStart + (int) begin, n, dtype)));
        }
        if (payloadStart + expectedOffset != all.capacity()) {
            throw new AssertionError(file + ": payload is " + (all.capacity() - payloadStart) + " bytes, header says "
                    + expectedOffset);
        }
        return out;
    }

    /** An npy v1.0 file with a 64-byte aligned header, as numpy writes it. */
    public static Loaded readNpy(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if ((bytes[0] & 0xff) != 0x93 || !new String(bytes, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")
                || bytes[6] != 1 || bytes[7] != 0) {
            throw new AssertionError(file + ": not an npy v1.0 file");
        }
        int headerLen = buf.getShort(8) & 0xffff;
        if ((10 + headerLen) % 64 != 0) {
            throw new AssertionError(file + ": header not 64-byte aligned");
        }
        Matcher m = NPY_DICT.matcher(new String(bytes, 10, headerLen, StandardCharsets.US_ASCII));
        if (!m.matches()) {
            throw new AssertionError(file + ": unexpected header " + new String(bytes, 10, headerLen,
                    StandardCharsets.US_ASCII));
        }
        DType dtype = m.group(1).equals("<f4") ? DType.F32 : DType.F16;
        long[] shape = java.util.Arrays.stream(m.group(2).split(","))
                .map(String::trim).filter(s -> !s.isEmpty()).mapToLong(Long::parseLong).toArray();
        int n = Math.toIntExact(numel(shape));
        if (bytes.length != 10 + headerLen + (long) n * dtype.bytes()) {
            throw new AssertionError(file + ": payload length does not match shape");
        }
        return new Loaded(dtype, shape, decode(buf, 10 + headerLen, n, dtype));
    }

    private static float[] decode(ByteBuffer buf, int start, int n, DType dtype) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = dtype == DType.F32 ? buf.getFloat(start + 4 * i) : Half.f16ToFloat(buf.getShort(start + 2 * i));
        }
        return v;
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }
}
