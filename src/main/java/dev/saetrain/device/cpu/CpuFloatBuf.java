package dev.saetrain.device.cpu;

import dev.saetrain.device.FloatBuf;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * An off-heap fp32 buffer of any size, in native byte order, so OpenBLAS reads it in place (no copy across JNI). Its
 * memory is one native block ({@link NativeMemory}), outside the JVM's direct-memory limit, freed by {@link #close},
 * not by the garbage collector.
 *
 * <p>Elements are addressed by 64-bit index. A direct buffer's capacity is an int number of bytes, so Java code sees
 * the block through pages of {@link #PAGE} floats (1 GiB) each, one FloatBuffer a page: element i is element
 * {@code i mod PAGE} of page {@code i / PAGE}; bulk copies that cross a page boundary are split there. OpenBLAS takes
 * the block whole, through {@link #pointer}. Neither must be kept past close (ops use them and return).
 */
final class CpuFloatBuf implements FloatBuf {
    /** log2 of the floats a page holds. */
    static final int PAGE_SHIFT = 28;
    /** Floats a page holds (1 GiB); a buffer of at most this many floats is one page. */
    static final long PAGE = 1L << PAGE_SHIFT;

    private final NativeMemory mem;
    private final FloatBuffer[] pages;
    private final long size;
    private final int shift; // log2 of this buffer's page
    private final int mask; // its page - 1

    CpuFloatBuf(long n) {
        this(n, PAGE_SHIFT);
    }

    /** A buffer seen through pages of 2^pageShift floats (tests use small pages to cross boundaries cheaply). */
    CpuFloatBuf(long n, int pageShift) {
        if (n < 0) {
            throw new IllegalArgumentException("negative buffer size " + n);
        }
        if (pageShift > PAGE_SHIFT || pageShift < 1) {
            throw new IllegalArgumentException("page shift " + pageShift + " outside [1, " + PAGE_SHIFT + "]");
        }
        this.size = n;
        this.mem = NativeMemory.calloc(Math.max(4, n * 4L), "a CPU buffer of " + n + " floats");
        this.pages = pages(mem, n, pageShift);
        this.shift = pageShift;
        this.mask = (int) (1L << pageShift) - 1;
    }

    private CpuFloatBuf(NativeMemory mem, long n) {
        this.size = n;
        this.mem = mem;
        this.pages = pages(mem, n, PAGE_SHIFT);
        this.shift = PAGE_SHIFT;
        this.mask = (int) PAGE - 1;
    }

    private static FloatBuffer[] pages(NativeMemory mem, long n, int pageShift) {
        long page = 1L << pageShift;
        int count = (int) Math.max(1, (n + page - 1) / page);
        FloatBuffer[] pages = new FloatBuffer[count];
        for (int p = 0; p < count; p++) {
            long first = p * page;
            int floats = (int) Math.min(page, n - first);
            pages[p] = mem.bytes(4 * first, 4 * Math.max(0, floats)).asFloatBuffer();
        }
        return pages;
    }

    /**
     * Elements [offset, offset + n) as a buffer sharing this one's memory (Device.floatView); closing it frees
     * nothing, and it must not be used after this buffer is closed.
     */
    CpuFloatBuf view(long offset, long n) {
        if (offset < 0 || n < 0 || offset + n > size) {
            throw new IndexOutOfBoundsException("view [" + offset + ", " + (offset + n) + ") of " + size + " floats");
        }
        return new CpuFloatBuf(mem.view(4 * offset, Math.max(4, 4 * n)), n);
    }

    /** A buffer holding a copy of {@code values}. */
    static CpuFloatBuf of(float[] values) {
        CpuFloatBuf b = new CpuFloatBuf(values.length);
        b.put(0, values, 0, values.length);
        return b;
    }

    @Override
    public long size() {
        return size;
    }

    /** Frees the memory; closing twice is harmless. */
    @Override
    public void close() {
        mem.free();
    }

    /** Element i. */
    float get(long i) {
        return pages[(int) (i >>> shift)].get((int) i & mask);
    }

    /** Sets element i to v. */
    void put(long i, float v) {
        pages[(int) (i >>> shift)].put((int) i & mask, v);
    }

    /** Copies elements [off, off + n) into dst[dstOff ..). */
    void get(long off, float[] dst, int dstOff, int n) {
        assert !mem.isFreed() : "buffer used after close";
        int o = (int) off & mask;
        if ((long) o + n <= mask + 1L) {
            pages[(int) (off >>> shift)].get(o, dst, dstOff, n); // within one page: one memcpy
            return;
        }
        for (int done = 0; done < n; ) {
            long at = off + done;
            int po = (int) at & mask;
            int len = (int) Math.min(n - done, mask + 1L - po);
            pages[(int) (at >>> shift)].get(po, dst, dstOff + done, len);
            done += len;
        }
    }

    /** Copies src[srcOff .. srcOff + n) into elements [off, off + n). */
    void put(long off, float[] src, int srcOff, int n) {
        assert !mem.isFreed() : "buffer used after close";
        int o = (int) off & mask;
        if ((long) o + n <= mask + 1L) {
            pages[(int) (off >>> shift)].put(o, src, srcOff, n);
            return;
        }
        for (int done = 0; done < n; ) {
            long at = off + done;
            int po = (int) at & mask;
            int len = (int) Math.min(n - done, mask + 1L - po);
            pages[(int) (at >>> shift)].put(po, src, srcOff + done, len);
            done += len;
        }
    }

    /** Copies elements [off, off + n) into dst[dstOff ..) (a direct scratch buffer: a memcpy the JIT inlines). */
    void copyTo(long off, FloatBuffer dst, int dstOff, int n) {
        assert !mem.isFreed() : "buffer used after close";
        for (int done = 0; done < n; ) {
            long at = off + done;
            int po = (int) at & mask;
            int len = (int) Math.min(n - done, mask + 1L - po);
            dst.put(dstOff + done, pages[(int) (at >>> shift)], po, len);
            done += len;
        }
    }

    /** The whole block as a FloatPointer at element {@code off}, for OpenBLAS (a fresh pointer each call). */
    FloatPointer pointer(long off) {
        assert !mem.isFreed() : "buffer used after close";
        return mem.floats(off);
    }
}
