package dev.saetrain.device.cpu;

import dev.saetrain.device.DeviceMemoryError;
import java.nio.ByteBuffer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Zero-filled native memory from the C allocator (JavaCPP's {@code Pointer.calloc}), seen as a direct ByteBuffer in
 * native byte order. Why not {@code ByteBuffer.allocateDirect}: direct buffers are capped by
 * {@code -XX:MaxDirectMemorySize}, by default the heap limit (a quarter of the machine), so plain {@code java -jar}
 * could not hold a family that fits the machine. This memory counts against no JVM limit (nor JavaCPP's
 * {@code maxBytes}: calloc'ed pointers are not tracked); {@code MemoryPlan} checks the family against physical memory
 * instead. Large blocks are fresh mmap'ed pages, zero without a memset.
 *
 * <p>Contract: the garbage collector never frees it. {@link #free} does, once (later calls do nothing); the
 * ByteBuffer must not be used after that: it would read freed memory, which can crash the JVM. Its owner
 * ({@link CpuFloatBuf}) hands the buffer out only to ops that finish before they return.
 */
final class NativeMemory {
    private Pointer ptr;
    private final ByteBuffer bytes;

    private NativeMemory(Pointer ptr, ByteBuffer bytes) {
        this.ptr = ptr;
        this.bytes = bytes;
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
        if (bytes > Integer.MAX_VALUE) {
            Pointer.free(p);
            throw new IllegalArgumentException("a ByteBuffer holds at most 2 GiB, asked for " + bytes + " bytes for "
                    + what);
        }
        return new NativeMemory(p, new BytePointer(p).capacity(bytes).asByteBuffer());
    }

    /** The memory as a direct buffer in native byte order; valid until {@link #free}. */
    ByteBuffer bytes() {
        return bytes;
    }

    /** Returns the memory to the allocator; later calls do nothing. */
    void free() {
        if (ptr != null) {
            Pointer.free(ptr);
            ptr = null;
        }
    }

    boolean isFreed() {
        return ptr == null;
    }
}
