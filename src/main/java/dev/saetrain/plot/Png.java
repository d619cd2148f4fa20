package dev.saetrain.plot;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * A PNG encoder for an {@link Image} (PNG specification, ISO/IEC 15948): 8-bit truecolour (colour type 2) without
 * alpha, non-interlaced, every scanline with filter type 0 (None) or 2 (Up), whichever has the smaller sum of
 * absolute differences (the heuristic of the specification's section 12.8), compressed with zlib ({@link Deflater}).
 * Chunks are IHDR, one IDAT, IEND; each carries its CRC-32 over type and data.
 */
public final class Png {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private Png() {
    }

    /** The PNG file of {@code image}. */
    public static byte[] encode(Image image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            write(image, out);
        } catch (IOException e) {
            throw new IllegalStateException("a ByteArrayOutputStream does not fail", e);
        }
        return out.toByteArray();
    }

    /** Writes the PNG file of {@code image} to {@code out}. */
    public static void write(Image image, OutputStream out) throws IOException {
        int w = image.width();
        int h = image.height();
        out.write(SIGNATURE);
        byte[] ihdr = new byte[13];
        putInt(ihdr, 0, w);
        putInt(ihdr, 4, h);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type: truecolour
        // compression 0 (deflate), filter method 0 (adaptive), interlace 0 (none)
        chunk(out, "IHDR", ihdr, ihdr.length);
        byte[] idat = compress(scanlines(image));
        chunk(out, "IDAT", idat, idat.length);
        chunk(out, "IEND", new byte[0], 0);
    }

    /** The filtered image data: per row a filter-type byte and 3 bytes (R, G, B) per pixel. */
    static byte[] scanlines(Image image) {
        int w = image.width();
        int h = image.height();
        int stride = 3 * w;
        byte[] raw = new byte[stride];
        byte[] prev = new byte[stride];
        byte[] up = new byte[stride];
        byte[] out = new byte[h * (stride + 1)];
        int[] px = image.pixels();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = px[y * w + x];
                raw[3 * x] = (byte) (rgb >>> 16);
                raw[3 * x + 1] = (byte) (rgb >>> 8);
                raw[3 * x + 2] = (byte) rgb;
            }
            long sumNone = 0;
            long sumUp = 0;
            for (int i = 0; i < stride; i++) {
                up[i] = (byte) (raw[i] - prev[i]);
                sumNone += Math.abs((int) raw[i]);
                sumUp += Math.abs((int) up[i]);
            }
            int at = y * (stride + 1);
            boolean useUp = y > 0 && sumUp < sumNone;
            out[at] = (byte) (useUp ? 2 : 0);
            System.arraycopy(useUp ? up : raw, 0, out, at + 1, stride);
            byte[] t = prev;
            prev = raw;
            raw = t;
        }
        return out;
    }

    private static byte[] compress(byte[] data) {
        Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION);
        try {
            deflater.setInput(data);
            deflater.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream(data.length / 8 + 64);
            byte[] buf = new byte[1 << 16];
            while (!deflater.finished()) {
                int n = deflater.deflate(buf);
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } finally {
            deflater.end();
        }
    }

    private static void chunk(OutputStream out, String type, byte[] data, int length) throws IOException {
        byte[] head = new byte[8];
        putInt(head, 0, length);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(t, 0, head, 4, 4);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data, 0, length);
        byte[] tail = new byte[4];
        putInt(tail, 0, (int) crc.getValue());
        out.write(head);
        out.write(data, 0, length);
        out.write(tail);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }
}
