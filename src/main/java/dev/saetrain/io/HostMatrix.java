package dev.saetrain.io;

import dev.saetrain.error.UsageException;
import java.util.Arrays;

/**
 * An fp32 matrix [rows, cols] on the Java heap, C order, of any size: its elements may pass 2^31 - 1 (W_enc of
 * d_in = 4096 at x128 holds exactly 2^31). A Java array holds fewer, so the matrix lives in pages of whole rows, one
 * float[] each: row r is {@code rows [r mod rowsPerPage]} of page {@code r / rowsPerPage}, so a row never straddles
 * two pages and hot loops take it as (array, offset) through {@link #page} and {@link #offset}. Flat element i
 * (row i / cols, column i mod cols) is reached by the long-indexed {@link #get(long)} and the bulk copies, which split
 * at page boundaries. Mutable, not thread-safe for writes to one row; distinct rows may be written concurrently.
 *
 * <p>A page holds at most {@link #pageFloats()} floats (1 GiB of fp32 unless the system property
 * {@value #PAGE_PROPERTY} says otherwise: tests set a few floats so that small matrices cross page boundaries),
 * and at least one row.
 */
public final class HostMatrix {
    /** Floats a page holds by default: 2^28 (1 GiB), as a CPU device buffer's page. */
    public static final long PAGE_FLOATS = 1L << 28;
    /** System property that sets the floats per page (tests; at least 1). */
    public static final String PAGE_PROPERTY = "saetrain.hostPageFloats";
    /** The longest Java array the JVM allocates reliably, and so the longest row. */
    public static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    private final int rows;
    private final int cols;
    private final int rowsPerPage;
    private final float[][] pages;

    /** A zero matrix [rows, cols] in pages of at most {@link #pageFloats()} floats. */
    public HostMatrix(int rows, int cols) {
        this(rows, cols, rowsPerPage(cols, pageFloats()));
    }

    /** A zero matrix [rows, cols] in pages of {@code rowsPerPage} rows (the last may hold fewer). */
    public HostMatrix(int rows, int cols, int rowsPerPage) {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("negative matrix shape [" + rows + ", " + cols + "]");
        }
        if (cols > MAX_ARRAY) {
            throw new IllegalArgumentException("a row of " + cols + " floats is longer than a Java array ("
                    + MAX_ARRAY + ")");
        }
        if (rowsPerPage < 1 || (long) rowsPerPage * cols > MAX_ARRAY) {
            throw new IllegalArgumentException(rowsPerPage + " rows of " + cols + " floats do not make a page");
        }
        this.rows = rows;
        this.cols = cols;
        this.rowsPerPage = rowsPerPage;
        int count = rows == 0 ? 0 : (rows - 1) / rowsPerPage + 1;
        this.pages = new float[count][];
        try {
            for (int p = 0; p < count; p++) {
                pages[p] = new float[Math.multiplyExact(Math.min(rowsPerPage, rows - p * rowsPerPage), cols)];
            }
        } catch (OutOfMemoryError e) {
            // The pages allocated so far become garbage with this object; nothing else was touched.
            throw new UsageException(String.format(java.util.Locale.ROOT, "the Java heap (max %.1f GiB) cannot hold a "
                    + "[%d, %d] fp32 matrix (%.1f GiB; the trainer holds W_enc and W_dec of one SAE on the host while "
                    + "it initialises or exports it); raise the heap limit: java -Xmx%dg -jar ..., or "
                    + "JAVA_OPTS=-Xmx%<dg for bin/sae-train",
                    Runtime.getRuntime().maxMemory() / GIB, rows, cols, size() * 4.0 / GIB,
                    (long) Math.ceil(Runtime.getRuntime().maxMemory() / GIB + 2 * size() * 4.0 / GIB)), e);
        }
    }

    private static final double GIB = 1L << 30;

    private HostMatrix(int rows, int cols, int rowsPerPage, float[][] pages) {
        this.rows = rows;
        this.cols = cols;
        this.rowsPerPage = rowsPerPage;
        this.pages = pages;
    }

    /** {@code data} [rows, cols] (not copied) as one page; data.length must be rows * cols. */
    public static HostMatrix wrap(float[] data, int rows, int cols) {
        if (rows < 0 || cols < 0 || (long) rows * cols != data.length) {
            throw new IllegalArgumentException("a [" + rows + ", " + cols + "] matrix needs " + (long) rows * cols
                    + " floats, got " + data.length);
        }
        return new HostMatrix(rows, cols, Math.max(1, rows), rows == 0 ? new float[0][] : new float[][] {data});
    }

    /** The floats per page: {@value #PAGE_PROPERTY} when set, else {@link #PAGE_FLOATS}. */
    public static long pageFloats() {
        return CountProperty.get(PAGE_PROPERTY, "a float count", PAGE_FLOATS);
    }

    /** Rows of {@code cols} floats in a page of at most {@code pageFloats} floats (at least one row). */
    public static int rowsPerPage(int cols, long pageFloats) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, pageFloats / Math.max(1, cols)));
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Elements, rows * cols. */
    public long size() {
        return (long) rows * cols;
    }

    /** Rows per page (the last page may hold fewer). */
    public int rowsPerPage() {
        return rowsPerPage;
    }

    /** Number of pages. */
    public int pageCount() {
        return pages.length;
    }

    /** The array holding row r (from {@link #offset}(r), cols floats). */
    public float[] page(int r) {
        return pages[r / rowsPerPage];
    }

    /** Where row r starts in {@link #page}(r). */
    public int offset(int r) {
        return (r % rowsPerPage) * cols;
    }

    /** Element [r, c]. */
    public float get(int r, int c) {
        return pages[r / rowsPerPage][(r % rowsPerPage) * cols + c];
    }

    /** Sets element [r, c]. */
    public void set(int r, int c, float v) {
        pages[r / rowsPerPage][(r % rowsPerPage) * cols + c] = v;
    }

    /** Flat element i (row i / cols, column i mod cols). */
    public float get(long i) {
        return get((int) (i / cols), (int) (i % cols));
    }

    /** Sets flat element i. */
    public void set(long i, float v) {
        set((int) (i / cols), (int) (i % cols), v);
    }

    /** Copies flat elements [off, off + n) into dst[dstOff ..). */
    public void get(long off, float[] dst, int dstOff, int n) {
        copy(off, dst, dstOff, n, false);
    }

    /** Copies src[srcOff .. srcOff + n) into flat elements [off, off + n). */
    public void set(long off, float[] src, int srcOff, int n) {
        copy(off, src, srcOff, n, true);
    }

    /** Copies between flat elements [off, off + n) and arr[arrOff ..), page by page: into the pages when intoPages. */
    private void copy(long off, float[] arr, int arrOff, int n, boolean intoPages) {
        check(off, n);
        for (int done = 0; done < n; ) {
            long at = off + done;
            int p = (int) (at / ((long) rowsPerPage * cols));
            int po = (int) (at - (long) p * rowsPerPage * cols);
            int len = Math.min(n - done, pages[p].length - po);
            if (intoPages) {
                System.arraycopy(arr, arrOff + done, pages[p], po, len);
            } else {
                System.arraycopy(pages[p], po, arr, arrOff + done, len);
            }
            done += len;
        }
    }

    private void check(long off, int n) {
        if (off < 0 || n < 0 || off + n > size()) {
            throw new IndexOutOfBoundsException("elements [" + off + ", " + (off + n) + ") of a [" + rows + ", "
                    + cols + "] matrix");
        }
    }

    /** A copy with the same pages' layout. */
    public HostMatrix copy() {
        float[][] p = new float[pages.length][];
        for (int i = 0; i < p.length; i++) {
            p[i] = pages[i].clone();
        }
        return new HostMatrix(rows, cols, rowsPerPage, p);
    }

    /**
     * The transpose [cols, rows], in pages of the default size: blocks of 64 of its rows (our columns) filled in
     * parallel, each by a pass over our rows.
     */
    public HostMatrix transpose() {
        HostMatrix t = new HostMatrix(cols, rows);
        int block = 64;
        java.util.stream.IntStream.range(0, (cols + block - 1) / block).parallel().forEach(b -> {
            int c0 = b * block;
            int c1 = Math.min(cols, c0 + block);
            for (int r = 0; r < rows; r++) {
                float[] src = page(r);
                int so = offset(r);
                for (int c = c0; c < c1; c++) {
                    t.page(c)[t.offset(c) + r] = src[so + c];
                }
            }
        });
        return t;
    }

    /**
     * Columns [c0, c0 + n) as rows of the transpose: dst[k * rows + r] = this[r, c0 + k] (dst [n, rows]); one pass over
     * our rows, reading a strip of each. How a transpose is streamed to a file without a second matrix.
     */
    public void transposedRows(int c0, int n, float[] dst) {
        if (c0 < 0 || n < 0 || c0 + n > cols || (long) n * rows > dst.length) {
            throw new IndexOutOfBoundsException("columns [" + c0 + ", " + (c0 + n) + ") of a [" + rows + ", " + cols
                    + "] matrix into " + dst.length + " floats");
        }
        for (int r = 0; r < rows; r++) {
            float[] src = page(r);
            int so = offset(r) + c0;
            for (int k = 0; k < n; k++) {
                dst[k * rows + r] = src[so + k];
            }
        }
    }

    /**
     * The elements as one array, for {@code what}, which needs the whole matrix in one: the page itself when there is
     * one (not a copy), else a copy. Throws a {@link UsageException} naming {@code what} when the matrix holds more
     * than a Java array.
     */
    public float[] toArray(String what) {
        if (pages.length == 1 && pages[0].length == size()) {
            return pages[0];
        }
        if (size() > MAX_ARRAY) {
            throw new UsageException(what + " needs the [" + rows + ", " + cols + "] matrix (" + size()
                    + " floats) in one Java array, which holds at most " + MAX_ARRAY + " (2^31 - 9); "
                    + "use a dictionary with d_in * d_sae under that");
        }
        float[] out = new float[(int) size()];
        get(0, out, 0, out.length);
        return out;
    }

    /** Whether {@code o} has the same shape and bit-identical elements (pages may differ). */
    public boolean contentEquals(HostMatrix o) {
        if (o.rows != rows || o.cols != cols) {
            return false;
        }
        for (int r = 0; r < rows; r++) {
            if (!Arrays.equals(page(r), offset(r), offset(r) + cols, o.page(r), o.offset(r), o.offset(r) + cols)) {
                return false;
            }
        }
        return true;
    }
}
