package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseSwitch;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AllocatorTest {
    /** A buffer that remembers whether it was closed (and refuses a second close). */
    private static final class Tracked implements FloatBuf, IntBuf {
        private final long size;
        private boolean closed;

        Tracked(long size) {
            this.size = size;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public void close() {
            if (closed) {
                throw new IllegalStateException("closed twice");
            }
            closed = true;
        }
    }

    /** A Device whose allocations are {@link Tracked} buffers, listed in {@code out}; every other op does nothing. */
    private static Device tracking(List<Tracked> out) {
        return (Device) Proxy.newProxyInstance(Device.class.getClassLoader(), new Class<?>[] {Device.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("sparseSwitch")) {
                        return SparseSwitch.MEASURED_ON_CPU;
                    }
                    if (method.getName().equals("allocFloat") || method.getName().equals("allocInt")) {
                        Tracked t = new Tracked((long) args[0]);
                        out.add(t);
                        return t;
                    }
                    Class<?> r = method.getReturnType();
                    return r == long.class ? 0L : r == int.class ? 0 : r == double.class ? 0.0 : r == boolean.class
                            ? false : null;
                });
    }

    @Test
    void countsWhatItAllocatesAndFreesItAll() {
        List<Tracked> bufs = new ArrayList<>();
        Allocator a = Allocator.on(tracking(bufs));
        Allocator counting = Allocator.counting(SparseSwitch.MEASURED_ON_CPU);
        for (Allocator x : List.of(a, counting)) {
            x.floats(10);
            x.ints(3);
            x.parameter(4, 5);
            x.sparse(6, 7);
            x.floatsLater(100);
        }
        assertEquals(4L * 4 * 20, a.parameterBytes());
        assertEquals(4L * (10 + 3 + (6 + 1) + 3 * 7 + 100), a.bufferBytes());
        assertEquals(a.parameterBytes(), counting.parameterBytes());
        assertEquals(a.bufferBytes(), counting.bufferBytes());
        assertEquals(1 + 1 + 4 + 4, bufs.size(), "a buffer declared for later is not allocated until asked for");
        assertNull(counting.device());
        a.close();
        assertTrue(bufs.stream().allMatch(t -> t.closed));
    }

    @Test
    void allocatesALaterBufferOnceOnFirstUse() {
        List<Tracked> bufs = new ArrayList<>();
        Allocator a = Allocator.on(tracking(bufs));
        Allocator.Later later = a.floatsLater(8);
        assertFalse(later.allocated());
        FloatBuf b = later.get();
        assertTrue(later.allocated());
        assertSame(b, later.get());
        assertEquals(8, b.size());
        assertEquals(1, bufs.size());
        a.close();
        assertTrue(bufs.get(0).closed, "a later buffer is freed with the rest");
    }

    @Test
    void refusesToAllocateSparseActivationsPastAnInt() {
        Allocator a = Allocator.on(tracking(new ArrayList<>()));
        assertThrows(ArithmeticException.class, () -> a.sparse(4, 1L << 31));
        // Counting, the bytes are counted all the same (a memory plan of a family the engine would refuse).
        Allocator counting = Allocator.counting(SparseSwitch.MEASURED_ON_CPU);
        counting.sparse(4, 1L << 31);
        assertEquals(4L * 5 + 12L * (1L << 31), counting.bufferBytes());
    }

    /** Every architecture: what memoryNeed counts is what the engine allocates, and close frees every buffer. */
    @Test
    void anEngineFreesEveryBufferItAllocated() {
        int batch = 24;
        for (SaeConfig cfg : List.of(SaeConfig.topk(20, 3, 4), SaeConfig.relu(20, 3, 0.5),
                SaeConfig.relu2023(20, 3, 0.5), SaeConfig.topk(20, 3, 4).withTied(true),
                SaeConfig.relu(20, 3, 0.5).withTied(true), SaeConfig.batchTopk(20, 3, 4), SaeConfig.jumpRelu(20, 3, 0.5),
                SaeConfig.matryoshka(20, 3, 4), SaeConfig.gated(20, 3, 0.5))) {
            List<Tracked> bufs = new ArrayList<>();
            Resampler.Plan plan = cfg.arch().resamplesDeadLatents() ? new Resampler.Plan(5, 10, 5, 100) : null;
            Engine e = new Engine(tracking(bufs), SaeInit.initial(cfg, 1, new float[20]), batch, 1000, plan);
            long allocated = bufs.stream().mapToLong(t -> 4 * t.size).sum();
            // The dense paths' scratch is counted up front and allocated at the first dense step (none here).
            assertTrue(allocated <= Engine.memoryNeed(cfg, batch, SparseSwitch.MEASURED_ON_CPU).total(), cfg.name());
            e.close();
            assertTrue(bufs.stream().allMatch(t -> t.closed), cfg.name() + ": every buffer freed");
        }
    }
}
