package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.model.Philox;
import java.io.IOException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaPhilox} on a GPU: the raw words bit for bit (the committed table, and a run of counters against
 * {@link Philox#block}); fillNormal within 1 float ulp of {@link Philox#fillNormal} (the GPU's double log / sin /
 * cos are not Java's), with at most 1 in 10^4 outputs not bit-identical.
 */
@Tag("cuda")
class CudaPhiloxGpuTest {
    @Test
    void wordsMatchTheTableBitForBit() throws IOException {
        CudaRuntime rt = GpuRuntime.openOrSkip();
        CudaPhilox philox = new CudaPhilox(rt);
        try (CudaIntBuf out = rt.allocInt(4)) {
            int[] got = new int[4];
            for (PhiloxTableTest.Row row : PhiloxTableTest.table()) {
                philox.blocks(row.seed(), row.stream(), row.counter(), 1, out);
                rt.downloadInt(out, 0, got, 0, 4);
                assertArrayEquals(row.words(), got, String.format("seed %x stream %x counter %x",
                        row.seed(), row.stream(), row.counter()));
            }
        }
    }

    @Test
    void aRunOfCountersAcrossTheLowWordMatchesJava() {
        CudaRuntime rt = GpuRuntime.openOrSkip();
        CudaPhilox philox = new CudaPhilox(rt);
        int count = 100_003;
        long counter0 = 0xffffffffL - 50_000; // crosses into the counter's high word
        int[] got = new int[4 * count];
        try (CudaIntBuf out = rt.allocInt(4L * count)) {
            philox.blocks(0x5eedL, 11L, counter0, count, out);
            rt.downloadInt(out, 0, got, 0, got.length);
        }
        int[] want = new int[4];
        int[] w = new int[4];
        for (int i = 0; i < count; i++) {
            Philox.block(0x5eedL, 11L, counter0 + i, w);
            System.arraycopy(got, 4 * i, want, 0, 4);
            assertArrayEquals(w, want, "block " + (counter0 + i));
        }
    }

    @Test
    void fillNormalMatchesJavaWithinOneUlp() {
        CudaRuntime rt = GpuRuntime.openOrSkip();
        CudaPhilox philox = new CudaPhilox(rt);
        long[][] cases = {{1, 0, 0}, {3, 1, 2}, {4, 42, 0}, {1001, 42, 7}, {1 << 20, -3, 1L << 40}};
        for (long[] c : cases) {
            int n = (int) c[0];
            float[] want = new float[n];
            Philox.fillNormal(c[1], c[2], want);
            float[] got = new float[n];
            try (CudaFloatBuf out = rt.allocFloat(n + 1)) {
                philox.fillNormal(c[1], c[2], out, n);
                rt.download(out, 0, got, 0, n);
                float[] tail = new float[1];
                rt.download(out, n, tail, 0, 1);
                assertTrue(tail[0] == 0f, "wrote past n = " + n);
            }
            int inexact = 0;
            for (int i = 0; i < n; i++) {
                int a = Float.floatToRawIntBits(want[i]);
                int b = Float.floatToRawIntBits(got[i]);
                if (a != b) {
                    inexact++;
                    assertTrue(Math.abs(a - b) <= 1 && (a ^ b) >= 0, "n = " + n + " [" + i + "]: Java " + want[i]
                            + ", GPU " + got[i] + " (more than 1 ulp)");
                }
            }
            assertTrue(inexact <= n / 10_000, inexact + " of " + n + " differ by 1 ulp");
        }
    }
}
