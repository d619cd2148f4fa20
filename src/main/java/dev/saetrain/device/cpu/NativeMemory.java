package dev.saetrain.device.cpu;

import dev.saetrain.device.DeviceMemoryError;
import java.nio.ByteBuffer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Zero-filled native memory from the C allocator (JavaCPP's {@code Pointer.calloc}), one contiguous block of any
 * size, seen as direct ByteBuffers in native byte order over ranges of at most 2 GiB (a ByteBuffer's capacity is an
 * int) and as a FloatPointer at any 64-bit offset. Why not {@code ByteBuffer.allocateDirect}: direct buffers are
 * capped by {@code -XX:MaxDirectMemorySize}, by default the heap limit (a quarter of the machine), so plain
 * {@code java -jar} could not hold a family that fits the machine. This memory counts against no JVM limit (nor
 * JavaCPP's {@code maxBytes}: calloc'ed pointers are not tracked); {@code MemoryPlan} checks the family against
 * physical memory instead. Large blocks are fresh mmap'ed pages, zero without a memset.
 *
 * <p>Contract: the garbage collector never frees it. {@link #free} does, once (later calls do nothing); views must
 * not be used after that: they would read freed memory, which can crash the JVM. Its owner ({@link CpuFloatBuf})
 * hands views out only to ops that finish before they return.
 */
final class NativeMemory {
    private Pointer ptr;
    private final long bytes;
    private final boolean owner; // false for a view: free forgets the pointer and leaves the block to its owner

    private NativeMemory(Pointer ptr, long bytes, boolean owner) {
        this.ptr = ptr;
        this.bytes = bytes;
        this.owner = owner;
    }

    /**
     * Allocates {@code bytes} zero bytes (at least 1).
     *
     * @param what the buffer, for the error: "a CPU buffer of N floats"
     * @throws DeviceMemoryError when the allocator refuses
     */
    static NativeMemory calloc(long bytes, String what) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size " + bytes + " for " + what);
        }
        Pointer p = Pointer.calloc(Math.max(1, bytes), 1);
        if (p == null || p.isNull()) {
            throw new DeviceMemoryError(bytes, what);
        }
        return new NativeMemory(p, Math.max(1, bytes), true);
    }

    /** Bytes [offset, offset + length) as a direct buffer in native byte order; valid until {@link #free}. */
    ByteBuffer bytes(long offset, int length) {
        if (offset < 0 || length < 0 || offset + length > bytes) {
            throw new IndexOutOfBoundsException("bytes [" + offset + ", " + (offset + length) + ") of " + bytes);
        }
        // A pointer at the range's own address: asByteBuffer maps [address, address + capacity) and must not be
        // given a position (it would map from the block's start, and past 2 GiB not at all).
        return new BytePointer(ptr).getPointer(offset).capacity(length).asByteBuffer();
    }

    /** The memory as floats from float {@code offset} on (a fresh pointer: its position is the caller's). */
    FloatPointer floats(long offset) {
        if (offset < 0 || 4 * offset > bytes) {
            throw new IndexOutOfBoundsException("float " + offset + " of " + bytes / 4);
        }
        return new FloatPointer(ptr).capacity(bytes / 4).position(offset); // JNI calls read from address + position
    }

    /**
     * Bytes [offset, offset + length) of this block as memory of its own that does not own them: its {@link #free}
     * releases nothing; it must not be used after this block is freed.
     */
    NativeMemory view(long offset, long length) {
        if (offset < 0 || length < 0 || offset + length > bytes) {
            throw new IndexOutOfBoundsException("bytes [" + offset + ", " + (offset + length) + ") of " + bytes);
        }
        return new NativeMemory(new BytePointer(ptr).getPointer(offset), length, false);
    }

    /** Returns the memory to the allocator (a view: only forgets it); later calls do nothing. */
    void free() {
        if (ptr != null) {
            if (owner) {
                Pointer.free(ptr);
            }
            ptr = null;
        }
    }

    boolean isFreed() {
        return ptr == null;
    }
}
