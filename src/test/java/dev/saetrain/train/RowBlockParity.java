package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.model.SaeWeights;
import dev.saetrain.selftest.ParityAssert;
import java.util.Collection;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * What the row-blocked parity tests (RowBlocked*Test) share: forcing the pre-activation block size, a whole-batch
 * engine beside a blocked one on the same init, and the comparisons of their gradients (EngineGradientParityTest's
 * tolerances: a float sum grouped block by block) and of their updates after a few Adam steps ({@link #UPDATE_TOL}).
 */
final class RowBlockParity {
    /**
     * Relative L2 of the blocked engine's update p - p0 against the whole batch's: Adam divides by sqrt(v), so the
     * last-bit differences of the gradients grow where a gradient is near zero, but stay far below what a wrong
     * block (a skipped row, a missing AuxK term) moves (about 1).
     */
    static final double UPDATE_TOL = 1e-3;

    private RowBlockParity() {
    }

    /** Builds what {@code make} builds with the pre-activation blocks forced to {@code rows} (0: the program's choice). */
    static <T> T withPreRows(int rows, Supplier<T> make) {
        if (rows > 0) {
            System.setProperty(SharedParts.PRE_ROWS_PROPERTY, Integer.toString(rows));
        }
        try {
            return make.get();
        } finally {
            System.clearProperty(SharedParts.PRE_ROWS_PROPERTY);
        }
    }

    /**
     * A CpuDevice with an engine over the whole batch and one in blocks of {@code rows} rows, both from {@code init}
     * at batch {@code batch} ({@code plan}: the resampling plan, or null); {@link #open} checks that the one is whole
     * and the other blocked as asked.
     */
    record Engines(Device dev, Engine whole, Engine blocked) implements AutoCloseable {
        static Engines open(String tag, SaeWeights init, int batch, int rows, Resampler.Plan plan) {
            Device dev = new CpuDevice(3);
            Engine whole = null;
            Engine blocked = null;
            try {
                whole = new Engine(dev, init, batch, batch, plan);
                blocked = withPreRows(rows, () -> new Engine(dev, init, batch, batch, plan));
                assertEquals(batch, whole.shared().preRows, tag);
                assertEquals(rows, blocked.shared().preRows, tag);
                return new Engines(dev, whole, blocked);
            } catch (RuntimeException | Error failed) {
                new Engines(dev, whole, blocked).close();
                throw failed;
            }
        }

        /** Closes the blocked engine, the whole one and the device (those that were opened). */
        @Override
        public void close() {
            try (dev; whole) {
                if (blocked != null) {
                    blocked.close();
                }
            }
        }
    }

    /** Each gradient of the blocked engine against the whole batch's, held to EngineGradientParityTest's tolerances. */
    static void assertSameGradients(String tag, double[][] want, double[][] got, IntFunction<String> name) {
        for (int g = 0; g < want.length; g++) {
            ParityAssert.assertClose(tag + name.apply(g), want[g], got[g], 1e-5 * EngineFixtures.maxAbs(want[g]), 1e-4);
        }
    }

    /** {@link #assertSameGradients} with the gradients named by their index. */
    static void assertSameGradients(String tag, double[][] want, double[][] got) {
        assertSameGradients(tag, want, got, g -> " gradient " + g);
    }

    /** The update p - p0 of the blocked engine within {@link #UPDATE_TOL} relative L2 of the whole batch's. */
    static void assertUpdate(String tag, float[] p0, float[] want, float[] got) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < p0.length; i++) {
            double u = (double) want[i] - p0[i];
            double v = (double) got[i] - p0[i];
            diff += (u - v) * (u - v);
            norm += u * u;
        }
        double rel = Math.sqrt(diff / norm);
        assertTrue(rel <= UPDATE_TOL, tag + ": update differs by " + rel + " relative L2");
    }

    /**
     * {@link #assertUpdate} for W_enc (where {@code wEnc}: tied relu has none of its own), b_enc, W_dec, b_dec and the
     * named extras.
     */
    static void assertUpdates(String tag, SaeWeights init, SaeWeights want, SaeWeights got, boolean wEnc,
                              Collection<String> extras) {
        if (wEnc) {
            assertUpdate(tag + " W_enc", init.wEnc().toArray("test"), want.wEnc().toArray("test"),
                    got.wEnc().toArray("test"));
        }
        assertUpdate(tag + " b_enc", init.bEnc(), want.bEnc(), got.bEnc());
        assertUpdate(tag + " W_dec", init.wDec().toArray("test"), want.wDec().toArray("test"),
                got.wDec().toArray("test"));
        assertUpdate(tag + " b_dec", init.bDec(), want.bDec(), got.bDec());
        for (String name : extras) {
            assertUpdate(tag + " " + name, init.extras().get(name), want.extras().get(name), got.extras().get(name));
        }
    }
}
