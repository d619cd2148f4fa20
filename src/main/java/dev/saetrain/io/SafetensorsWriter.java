package dev.saetrain.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes .safetensors files, atomically: an 8-byte little-endian header length, a JSON header
 * ({@code name: {dtype, shape, data_offsets}} in the given order, plus {@code __metadata__} of strings),
 * padded with spaces to a multiple of 8 bytes, then the payloads back to back.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {
    }

    /** Writes {@code tensors} (iteration order is file order) with optional string {@code metadata}. */
    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Streamed> streamed = new java.util.LinkedHashMap<>();
        tensors.forEach((name, t) -> streamed.put(name, Streamed.of(t)));
        writeStreamed(path, streamed, metadata);
    }

    /**
     * A tensor whose payload is written while the file is: {@code payload} must write exactly
     * numel * dtype.bytes() bytes, little-endian (large device tensors go to disk in chunks, with no host copy of
     * the whole).
     */
    public record Streamed(DType dtype, long[] shape, AtomicFiles.Body payload) {
        public Streamed {
            shape = shape.clone();
        }

        /** A host tensor, written as {@link #write} writes it. */
        public static Streamed of(Tensor t) {
            return new Streamed(t.dtype(), t.shape(), out -> TensorWriter.writePayload(out, t));
        }

        long byteSize() {
            long n = 1;
            for (long x : shape) {
                n = Math.multiplyExact(n, x);
            }
            return n * dtype.bytes();
        }
    }

    /** Writes {@code tensors} (in map order) to {@code path} atomically, each payload streamed. */
    public static void writeStreamed(Path path, Map<String, Streamed> tensors, Map<String, String> metadata)
            throws IOException {
        Map<String, Streamed> metas = new java.util.LinkedHashMap<>(tensors);
        byte[] header = streamedHeader(metas, metadata);
        AtomicFiles.write(path, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
            out.write(len.array());
            out.write(header);
            for (Map.Entry<String, Streamed> e : metas.entrySet()) {
                long[] count = new long[1];
                e.getValue().payload().write(new java.io.FilterOutputStream(out) {
                    @Override
                    public void write(int b) throws IOException {
                        out.write(b);
                        count[0]++;
                    }

                    @Override
                    public void write(byte[] b, int off, int n) throws IOException {
                        out.write(b, off, n);
                        count[0] += n;
                    }
                });
                if (count[0] != e.getValue().byteSize()) {
                    throw new IllegalStateException("tensor " + e.getKey() + " wrote " + count[0] + " bytes, its header says "
                            + e.getValue().byteSize());
                }
            }
        });
    }

    private static byte[] streamedHeader(Map<String, Streamed> tensors, Map<String, String> metadata) {
        ObjectNode root = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Streamed> e : tensors.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                throw new IllegalArgumentException("__metadata__ is reserved in safetensors");
            }
            Streamed t = e.getValue();
            ObjectNode node = root.putObject(e.getKey());
            node.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = node.putArray("shape");
            for (long x : t.shape()) {
                shape.add(x);
            }
            ArrayNode offsets = node.putArray("data_offsets");
            offsets.add(offset);
            offset += t.byteSize();
            offsets.add(offset);
        }
        StringBuilder sb = new StringBuilder(root.toString());
        while (sb.length() % 8 != 0) {
            sb.append(' ');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }
}
