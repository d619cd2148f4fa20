package dev.saetrain.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.StringJoiner;

/** Writes numpy .npy files (format version 1.0, C order, little-endian), atomically. */
public final class NpyWriter {
    private NpyWriter() {
    }

    /** Writes {@code t} to {@code path}; BF16 is refused because numpy has no such dtype. */
    public static void write(Path path, Tensor t) throws IOException {
        if (t.dtype().npyDescr() == null) {
            throw new IllegalArgumentException("numpy has no dtype for " + t.dtype() + "; write F32 or F16");
        }
        byte[] header = header(t.dtype(), t.shape());
        AtomicFiles.write(path, out -> {
            out.write(header);
            TensorWriter.writePayload(out, t);
        });
    }

    /** The magic, version, header length and padded header dict, 64-byte aligned as numpy writes it. */
    static byte[] header(DType dtype, long[] shape) {
        StringJoiner dims = new StringJoiner(", ", "(", shape.length == 1 ? ",)" : ")");
        for (long s : shape) {
            dims.add(Long.toString(s));
        }
        String dict = "{'descr': '" + dtype.npyDescr() + "', 'fortran_order': False, 'shape': " + dims + ", }";
        int unpadded = 10 + dict.length() + 1;
        int total = (unpadded + 63) / 64 * 64;
        StringBuilder sb = new StringBuilder(dict);
        while (10 + sb.length() + 1 < total) {
            sb.append(' ');
        }
        sb.append('\n');
        byte[] text = sb.toString().getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[10 + text.length];
        out[0] = (byte) 0x93;
        System.arraycopy("NUMPY".getBytes(StandardCharsets.US_ASCII), 0, out, 1, 5);
        out[6] = 1;
        out[7] = 0;
        out[8] = (byte) (text.length & 0xff);
        out[9] = (byte) (text.length >>> 8);
        System.arraycopy(text, 0, out, 10, text.length);
        return out;
    }
}
