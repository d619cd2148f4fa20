package dev.saetrain.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Streams a tensor's payload little-endian in its dtype, converting floats to F16/BF16 where asked. */
final class TensorWriter {
    private TensorWriter() {
    }

    static void writePayload(OutputStream out, Tensor t) throws IOException {
        if (t.data() instanceof HostMatrix h) {
            writeMatrix(out, h, t.dtype());
            return;
        }
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        int n = Math.toIntExact(t.numel());
        for (int i = 0; i < n; i++) {
            if (buf.remaining() < 8) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            switch (t.dtype()) {
                case F32 -> buf.putFloat(((float[]) t.data())[i]);
                case F16 -> buf.putShort(Half.floatToF16(((float[]) t.data())[i]));
                case BF16 -> buf.putShort(Half.floatToBf16(((float[]) t.data())[i]));
                case I32 -> buf.putInt(((int[]) t.data())[i]);
                case I64 -> buf.putLong(((long[]) t.data())[i]);
            }
        }
        out.write(buf.array(), 0, buf.position());
    }

    /** A matrix of any size, a chunk of flat elements at a time (64-bit offsets). */
    private static void writeMatrix(OutputStream out, HostMatrix h, DType dtype) throws IOException {
        float[] chunk = new float[1 << 14];
        ByteBuffer buf = ByteBuffer.allocate(chunk.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (long off = 0; off < h.size(); off += chunk.length) {
            int n = (int) Math.min(chunk.length, h.size() - off);
            h.get(off, chunk, 0, n);
            buf.clear();
            for (int i = 0; i < n; i++) {
                switch (dtype) {
                    case F32 -> buf.putFloat(chunk[i]);
                    case F16 -> buf.putShort(Half.floatToF16(chunk[i]));
                    case BF16 -> buf.putShort(Half.floatToBf16(chunk[i]));
                    default -> throw new IllegalArgumentException("a HostMatrix holds floats, not " + dtype);
                }
            }
            out.write(buf.array(), 0, buf.position());
        }
    }
}
