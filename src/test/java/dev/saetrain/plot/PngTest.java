package dev.saetrain.plot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.Inflater;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** The encoder against the JDK's PNG decoder (ImageIO, in tests only) and against the format's chunk layout. */
class PngTest {
    /** Random pixels (filter None wins) and smooth rows (filter Up wins) at awkward sizes. */
    private static Image sample(int w, int h, long seed, boolean smooth) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Image img = new Image(w, h, 0xffffff);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.set(x, y, smooth ? (x * 7 & 0xff) << 16 | (y * 3 & 0xff) << 8 | (x + y & 0xff) : rnd.nextInt());
            }
        }
        return img;
    }

    @Test
    void imageIoDecodesEveryPixel() throws Exception {
        int[][] sizes = {{1, 1}, {37, 5}, {5, 37}, {301, 203}};
        for (int[] s : sizes) {
            for (boolean smooth : new boolean[] {false, true}) {
                Image img = sample(s[0], s[1], 7L * s[0] + s[1], smooth);
                BufferedImage back = ImageIO.read(new ByteArrayInputStream(Png.encode(img)));
                assertEquals(s[0], back.getWidth());
                assertEquals(s[1], back.getHeight());
                for (int y = 0; y < s[1]; y++) {
                    for (int x = 0; x < s[0]; x++) {
                        assertEquals(img.get(x, y), back.getRGB(x, y) & 0xffffff, "pixel " + x + "," + y + " of "
                                + s[0] + "x" + s[1] + (smooth ? " smooth" : " random"));
                    }
                }
            }
        }
    }

    private record Chunk(String type, byte[] data) {
    }

    private static List<Chunk> chunks(byte[] png) {
        ByteBuffer b = ByteBuffer.wrap(png);
        byte[] sig = new byte[8];
        b.get(sig);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, sig);
        List<Chunk> out = new ArrayList<>();
        while (b.hasRemaining()) {
            int len = b.getInt();
            byte[] type = new byte[4];
            b.get(type);
            byte[] data = new byte[len];
            b.get(data);
            CRC32 crc = new CRC32();
            crc.update(type);
            crc.update(data);
            assertEquals((int) crc.getValue(), b.getInt(), "CRC of " + new String(type, StandardCharsets.US_ASCII));
            out.add(new Chunk(new String(type, StandardCharsets.US_ASCII), data));
        }
        return out;
    }

    @Test
    void chunksAreIhdrIdatIendWithValidCrcs() throws Exception {
        Image img = sample(13, 9, 3, true);
        List<Chunk> c = chunks(Png.encode(img));
        assertEquals(List.of("IHDR", "IDAT", "IEND"), c.stream().map(Chunk::type).toList());
        ByteBuffer ihdr = ByteBuffer.wrap(c.get(0).data());
        assertEquals(13, ihdr.getInt());
        assertEquals(9, ihdr.getInt());
        assertArrayEquals(new byte[] {8, 2, 0, 0, 0}, new byte[] {ihdr.get(), ihdr.get(), ihdr.get(), ihdr.get(),
            ihdr.get()});
        assertEquals(0, c.get(2).data().length);

        Inflater inf = new Inflater();
        inf.setInput(c.get(1).data());
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!inf.finished()) {
            raw.write(buf, 0, inf.inflate(buf));
        }
        inf.end();
        byte[] rows = raw.toByteArray();
        assertArrayEquals(Png.scanlines(img), rows);
        assertEquals(9 * (1 + 3 * 13), rows.length);
        // Unfilter by hand: every row is None (0) or Up (2), and the result is the image.
        byte[] prev = new byte[3 * 13];
        for (int y = 0; y < 9; y++) {
            int f = rows[y * 40];
            assertTrue(f == 0 || f == 2, "filter type " + f);
            byte[] cur = new byte[3 * 13];
            for (int i = 0; i < cur.length; i++) {
                cur[i] = (byte) (rows[y * 40 + 1 + i] + (f == 2 ? prev[i] : 0));
            }
            for (int x = 0; x < 13; x++) {
                int rgb = (cur[3 * x] & 0xff) << 16 | (cur[3 * x + 1] & 0xff) << 8 | cur[3 * x + 2] & 0xff;
                assertEquals(img.get(x, y), rgb);
            }
            prev = cur;
        }
    }

    @Test
    void smoothRowsUseTheUpFilterAndFirstRowNone() {
        byte[] rows = Png.scanlines(sample(20, 4, 1, true));
        assertEquals(0, rows[0]);
        assertEquals(2, rows[61]);
    }
}
