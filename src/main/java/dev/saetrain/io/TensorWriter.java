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
}
