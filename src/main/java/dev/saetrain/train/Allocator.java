package dev.saetrain.train;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseActs;
import dev.saetrain.device.SparseSwitch;
import java.util.ArrayList;
import java.util.List;

/**
 * Where an engine's parts get their device memory. Every part allocates through one allocator, which frees it all
 * on {@link #close}; a counting allocator hands out placeholders of the right sizes and allocates nothing, so that
 * {@link Engine#memoryNeed} builds the same parts and reads what they would take: the memory plan comes from the
 * code that allocates, not from a copy of its arithmetic. Buffers a step allocates only when it first needs them
 * (the dense paths' scratch) are declared up front with {@link #floatsLater} and counted at once.
 */
final class Allocator implements AutoCloseable {
    private final Device dev; // null: counting only
    private final SparseSwitch sparseSwitch;
    private final List<Runnable> closers = new ArrayList<>();
    private final List<AdamState> parameters = new ArrayList<>();
    private long parameterBytes;
    private long bufferBytes;

    private Allocator(Device dev, SparseSwitch sparseSwitch) {
        this.dev = dev;
        this.sparseSwitch = sparseSwitch;
    }

    /** Allocates on {@code device}. */
    static Allocator on(Device device) {
        return new Allocator(device, device.sparseSwitch());
    }

    /**
     * Counts and allocates nothing: its buffers are placeholders that no op may be given. The sparse activations are
     * sized for {@code sparseSwitch}, the densities of the device the engine will run on.
     */
    static Allocator counting(SparseSwitch sparseSwitch) {
        return new Allocator(null, sparseSwitch);
    }

    /** The device's dense/sparse crossing densities (the steps size their sparse activations by them). */
    SparseSwitch sparseSwitch() {
        return sparseSwitch;
    }

    /** The device the buffers live on; null for a counting allocator. */
    Device device() {
        return dev;
    }

    /** Bytes of the parameters with their gradients and Adam moments so far. */
    long parameterBytes() {
        return parameterBytes;
    }

    /** Bytes of every other buffer so far, those declared for later included. */
    long bufferBytes() {
        return bufferBytes;
    }

    /** A zero-filled fp32 buffer of {@code n} elements. */
    FloatBuf floats(long n) {
        bufferBytes += 4L * n;
        return newFloats(n);
    }

    /** A zero-filled int32 buffer of {@code n} elements. */
    IntBuf ints(long n) {
        bufferBytes += 4L * n;
        if (dev == null) {
            return new Placeholder(n);
        }
        IntBuf b = dev.allocInt(n);
        closers.add(b::close);
        return b;
    }

    /** A parameter [rows, cols] with its gradient and Adam moments (four fp32 buffers). */
    AdamState parameter(int rows, int cols) {
        long n = (long) rows * cols;
        parameterBytes += 4L * 4 * n;
        AdamState p = new AdamState(newFloats(n), newFloats(n), newFloats(n), newFloats(n), rows, cols);
        parameters.add(p);
        return p;
    }

    /**
     * Frees every parameter's gradient and Adam moments now, keeping the values and every other buffer (closing a
     * buffer twice is harmless, so {@link #close} frees the rest later). For the export after the last step: the
     * weights' host copy then takes the place of memory the plan counted, instead of adding to the run's peak.
     */
    void releaseOptimizerState() {
        for (AdamState p : parameters) {
            p.grad.close();
            p.m.close();
            p.v.close();
        }
    }

    /**
     * Sparse activations for {@code batch} rows and {@code capacity} entries (a long, so that a memory plan can count
     * a family the engine would refuse; allocated, it must fit an int).
     */
    SparseActs sparse(int batch, long capacity) {
        int cap = dev == null ? (int) Math.min(capacity, Integer.MAX_VALUE) : Math.toIntExact(capacity);
        return new SparseActs(ints(batch + 1L), ints(capacity), floats(capacity), floats(capacity), batch, cap);
    }

    /** An fp32 buffer of {@code n} elements counted now and allocated by the first {@link Later#get}. */
    Later floatsLater(long n) {
        bufferBytes += 4L * n;
        return new Later(n);
    }

    /** A buffer allocated when first asked for. */
    final class Later {
        private final long n;
        private FloatBuf buf;

        private Later(long n) {
            this.n = n;
        }

        /** Whether {@link #get} has allocated the buffer. */
        boolean allocated() {
            return buf != null;
        }

        /** The buffer, zero-filled when this call allocates it. */
        FloatBuf get() {
            if (buf == null) {
                buf = newFloats(n);
            }
            return buf;
        }
    }

    private FloatBuf newFloats(long n) {
        if (dev == null) {
            return new Placeholder(n);
        }
        FloatBuf b = dev.allocFloat(n);
        closers.add(b::close);
        return b;
    }

    /** Frees every buffer allocated here, the last first. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (int i = closers.size() - 1; i >= 0; i--) {
            try {
                closers.get(i).run();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        closers.clear();
        if (first != null) {
            throw first;
        }
    }

    /** What a counting allocator hands out: a size, no memory. */
    private record Placeholder(long size) implements FloatBuf, IntBuf {
        @Override
        public void close() {
        }
    }
}
