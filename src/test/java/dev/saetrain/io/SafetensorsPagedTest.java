package dev.saetrain.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Matrices through the safetensors and npy writers and the safetensors reader in pages: small ones at page sizes
 * that cut them into many pages, and one tensor of more than 2^31 bytes.
 */
class SafetensorsPagedTest {
    private static final Logger LOG = LoggerFactory.getLogger(SafetensorsPagedTest.class);
    @TempDir
    Path tmp;

    private static HostMatrix random(int rows, int cols, int perPage, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        HostMatrix h = new HostMatrix(rows, cols, perPage);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                h.set(i, j, (float) r.nextGaussian());
            }
        }
        return h;
    }

    @Test
    void pagedMatricesRoundTripBitExactInEveryFloatDtype() throws IOException {
        HostMatrix a = random(13, 5, 3, 1);
        float[] flat = a.toArray("test");
        for (DType dtype : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            Path f = tmp.resolve(dtype + ".safetensors");
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("paged", new Tensor(dtype, new long[] {13, 5}, a));
            t.put("whole", new Tensor(dtype, new long[] {13, 5}, flat));
            t.put("bias", new Tensor(dtype, new long[] {5}, new float[] {1, 2, 3, 4, 5}));
            SafetensorsWriter.write(f, t, null);
            String old = System.setProperty(HostMatrix.PAGE_PROPERTY, "7"); // one row a page
            try {
                Map<String, Tensor> back = SafetensorsReader.read(f).tensors();
                HostMatrix paged = back.get("paged").matrix();
                HostMatrix whole = back.get("whole").matrix();
                assertEquals(13, paged.pageCount(), "read back in pages of the configured size");
                assertTrue(paged.contentEquals(whole), dtype + ": a paged matrix writes the bytes a whole one does");
                if (dtype == DType.F32) {
                    assertArrayEquals(flat, paged.toArray("test"));
                } else {
                    for (int i = 0; i < flat.length; i++) {
                        short want = dtype == DType.F16 ? Half.floatToF16(flat[i]) : Half.floatToBf16(flat[i]);
                        float w = dtype == DType.F16 ? Half.f16ToFloat(want) : Half.bf16ToFloat(want);
                        assertEquals(w, paged.get(i), 0, dtype + " element " + i);
                    }
                }
                assertArrayEquals(new float[] {1, 2, 3, 4, 5}, back.get("bias").floats());
            } finally {
                HostMatrixTest.restore(old);
            }
        }
    }

    @Test
    void npyOfAPagedMatrixHasTheBytesOfAWholeOne() throws IOException {
        HostMatrix a = random(11, 6, 2, 2);
        NpyWriter.write(tmp.resolve("paged.npy"), Tensor.f32(a));
        NpyWriter.write(tmp.resolve("whole.npy"), Tensor.f32(a.toArray("test"), 11, 6));
        assertArrayEquals(Files.readAllBytes(tmp.resolve("whole.npy")), Files.readAllBytes(tmp.resolve("paged.npy")));
    }

    /** Element i of the large tensor: distinct around every 2^k boundary, cheap to recompute. */
    private static float big(long i) {
        return (float) (i % 1_000_003) - (i >>> 26);
    }

    @Test
    void aTensorOfMoreThan2GiBIsWrittenAndReadBack() throws IOException {
        // [32769, 16384] F32 = 2^29 + 2^14 floats = 2^31 + 2^16 bytes: element 2^29 starts at byte 2^31 of the payload.
        int rows = 32769;
        int cols = 16384;
        long n = (long) rows * cols;
        long bytes = n * 4;
        long disk = Files.getFileStore(tmp).getUsableSpace();
        Runtime rt = Runtime.getRuntime();
        long heap = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (disk < bytes + (1L << 30) || heap < bytes + (1L << 29)) {
            LOG.warn("skipped the > 2 GiB safetensors round trip: it needs {} bytes of disk ({} free) and of heap ({}"
                    + " free)", bytes, disk, heap);
        }
        assumeTrue(disk >= bytes + (1L << 30), "too little disk for a " + bytes + "-byte file: " + disk + " free");
        assumeTrue(heap >= bytes + (1L << 29), "too little heap to read " + bytes + " bytes back: " + heap + " free");
        Path f = tmp.resolve("big.safetensors");
        // Written lazily (no host copy), as a checkpoint streams from the device.
        Map<String, SafetensorsWriter.Streamed> t = new LinkedHashMap<>();
        t.put("before", SafetensorsWriter.Streamed.of(Tensor.f32(new float[] {7, 8, 9}, 3)));
        t.put("big", new SafetensorsWriter.Streamed(DType.F32, new long[] {rows, cols}, out -> {
            ByteBuffer b = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (long i = 0; i < n; i++) {
                if (!b.hasRemaining()) {
                    out.write(b.array(), 0, b.position());
                    b.clear();
                }
                b.putFloat(big(i));
            }
            out.write(b.array(), 0, b.position());
        }));
        t.put("after", SafetensorsWriter.Streamed.of(Tensor.f32(new float[] {1, 2}, 2)));
        SafetensorsWriter.writeStreamed(f, t, Map.of("what", "test"));
        try {
            SafetensorsReader.Header h = SafetensorsReader.header(f);
            SafetensorsReader.Entry e = h.tensors().get(1);
            assertEquals("big", e.name());
            assertEquals(bytes, e.end() - e.begin(), "u64 offsets past 2^31");
            assertEquals(2, h.tensors().get(2).numel());
            Map<String, Tensor> back = SafetensorsReader.read(f).tensors();
            HostMatrix m = back.get("big").matrix();
            assertEquals(rows, m.rows());
            assertEquals(cols, m.cols());
            assertEquals(3, m.pageCount(), "three pages of at most 2^28 floats");
            for (int r = 0; r < rows; r++) {
                float[] page = m.page(r);
                int o = m.offset(r);
                long base = (long) r * cols;
                for (int c = 0; c < cols; c++) {
                    if (page[o + c] != big(base + c)) {
                        assertEquals(big(base + c), page[o + c], 0, "element " + (base + c));
                    }
                }
            }
            assertArrayEquals(new float[] {7, 8, 9}, back.get("before").floats());
            assertArrayEquals(new float[] {1, 2}, back.get("after").floats(), "the tensor after the large one");
        } finally {
            Files.deleteIfExists(f);
        }
    }
}
