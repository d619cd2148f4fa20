package dev.saetrain.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.saetrain.error.UsageException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** HostMatrix against a flat array, at page sizes that put boundaries inside every bulk copy. */
class HostMatrixTest {
    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    @Test
    void pagesHoldWholeRowsAndFlatIndexingCrossesThem() {
        int rows = 13;
        int cols = 7;
        float[] flat = random(rows * cols, 1);
        for (int perPage : new int[] {1, 2, 3, 5, 13, 20}) {
            HostMatrix h = new HostMatrix(rows, cols, perPage);
            assertEquals((rows + perPage - 1) / perPage, h.pageCount());
            h.set(0, flat.clone(), 0, flat.length); // a copy: a set that wrote into its source would go unseen
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    assertEquals(flat[r * cols + c], h.get(r, c), 0);
                    assertEquals(flat[r * cols + c], h.page(r)[h.offset(r) + c], 0, "a row lies in one page");
                    assertEquals(flat[r * cols + c], h.get((long) r * cols + c), 0);
                }
            }
            // Every window, of every length, through the bulk copy (page boundaries at every multiple of perPage rows).
            for (int off = 0; off < flat.length; off += 3) {
                for (int n = 0; off + n <= flat.length; n += 11) {
                    float[] got = new float[n + 2];
                    h.get(off, got, 1, n);
                    for (int i = 0; i < n; i++) {
                        assertEquals(flat[off + i], got[1 + i], 0, perPage + " rows a page, [" + off + " + " + i + "]");
                    }
                    assertEquals(0f, got[0]);
                    assertEquals(0f, got[n + 1]);
                }
            }
            assertArrayEquals(flat, h.toArray("test"));
            assertThrows(IndexOutOfBoundsException.class, () -> h.get(flat.length - 1, new float[2], 0, 2));
        }
    }

    @Test
    void transposeAndCopyAreExact() {
        int rows = 9;
        int cols = 11;
        float[] flat = random(rows * cols, 2);
        HostMatrix h = new HostMatrix(rows, cols, 4);
        h.set(0, flat, 0, flat.length);
        String old = System.setProperty(HostMatrix.PAGE_PROPERTY, "20"); // transpose [11, 9]: 2 rows a page
        try {
            HostMatrix t = h.transpose();
            assertEquals(2, t.rowsPerPage());
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    assertEquals(flat[r * cols + c], t.get(c, r), 0);
                }
            }
            assertTrue(t.transpose().contentEquals(h));
            for (int c0 = 0; c0 < cols; c0++) {
                for (int n = 0; c0 + n <= cols; n++) {
                    float[] strip = new float[n * rows + 1];
                    h.transposedRows(c0, n, strip);
                    for (int k = 0; k < n; k++) {
                        for (int r = 0; r < rows; r++) {
                            assertEquals(t.get(c0 + k, r), strip[k * rows + r], 0);
                        }
                    }
                    assertEquals(0f, strip[n * rows], "nothing past n rows");
                }
            }
        } finally {
            restore(old);
        }
        HostMatrix copy = h.copy();
        assertTrue(copy.contentEquals(h));
        copy.set(5, 3, 42f);
        assertFalse(copy.contentEquals(h), "a copy owns its pages");
    }

    @Test
    void wrapIsOnePageAndToArrayGivesItBack() {
        float[] a = random(12, 3);
        HostMatrix h = HostMatrix.wrap(a, 3, 4);
        assertEquals(1, h.pageCount());
        assertSame(a, h.toArray("test"));
        assertThrows(IllegalArgumentException.class, () -> HostMatrix.wrap(a, 5, 4));
    }

    @Test
    void pageSizeComesFromThePropertyAndIsAtLeastOneRow() {
        String old = System.setProperty(HostMatrix.PAGE_PROPERTY, "10");
        try {
            assertEquals(3, new HostMatrix(7, 3).rowsPerPage());
            assertEquals(1, new HostMatrix(7, 30).rowsPerPage(), "a page holds at least one row");
            System.setProperty(HostMatrix.PAGE_PROPERTY, "zero");
            assertThrows(IllegalArgumentException.class, HostMatrix::pageFloats);
        } finally {
            restore(old);
        }
        assertEquals(HostMatrix.PAGE_FLOATS, HostMatrix.pageFloats());
        assertEquals(1 << 16, HostMatrix.rowsPerPage(4096, HostMatrix.PAGE_FLOATS), "d = 4096: 65536 rows a page");
    }

    @Test
    void aMatrixTheHeapCannotHoldIsRefusedNamingTheFix() {
        // One page of 2^31 - 9 floats (8 GiB): refused by the JVM before any memory is touched when the heap is smaller.
        assumeTrue(Runtime.getRuntime().maxMemory() < 4L * HostMatrix.MAX_ARRAY, "the heap holds 8 GiB");
        UsageException e = assertThrows(UsageException.class, () -> new HostMatrix(1, HostMatrix.MAX_ARRAY, 1));
        assertTrue(e.getMessage().contains("cannot hold a [1, 2147483639] fp32 matrix (8.0 GiB")
                && e.getMessage().contains("java -Xmx") && e.getMessage().contains("JAVA_OPTS=-Xmx"), e.getMessage());
    }

    static void restore(String old) {
        if (old == null) {
            System.clearProperty(HostMatrix.PAGE_PROPERTY);
        } else {
            System.setProperty(HostMatrix.PAGE_PROPERTY, old);
        }
    }
}
