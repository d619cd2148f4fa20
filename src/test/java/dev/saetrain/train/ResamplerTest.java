package dev.saetrain.train;

import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.selftest.ParityAssert;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Dead-latent resampling (relu-2023) on a crafted case: latents 0, 4, 8, ... start with b_enc = -100 and never
 * fire; the others (b_enc = 0, unit rows, Gaussian inputs) fire on about half the rows. Rows 0..2 of the batch
 * are scaled by 10, so their loss^2 is ~10^4 times the others' and sampling with p ~ loss^2 picks them. With
 * every = 3 and window = 2, step 3 resamples exactly the silent latents, and the result is compared with the same
 * three steps taken without resampling. Before step 3 every Adam moment is raised by 0.01, so that the reset
 * of the resampled latents' moments shows.
 */
class ResamplerTest {
    private static final int D = 16;
    private static final int M = 40;
    private static final int BATCH = 24;
    private static final int[] BIG_ROWS = {0, 1, 2};

    private static SaeWeights init() {
        SaeConfig cfg = SaeConfig.relu2023(D, 1, 0.5).withNLatents(M);
        SaeWeights w = SaeInit.initial(cfg, 11, gaussian(12, D, 0.1));
        float[] bEnc = new float[M];
        for (int i = 0; i < M; i += 4) {
            bEnc[i] = -100f;
        }
        return new SaeWeights(cfg, w.wEnc(), bEnc, w.wDec(), w.bDec());
    }

    private static float[] batch(int step) {
        float[] x = gaussian(20 + step, BATCH * D, 1.0);
        for (int b : BIG_ROWS) {
            for (int j = 0; j < D; j++) {
                x[b * D + j] *= 10;
            }
        }
        return x;
    }

    /** Runs steps 1..3 and returns the engine's state after them, plus the pre-step-3 state in {@code before}. */
    private static EngineState run(Device dev, Resampler.Plan plan, List<EngineState> before) {
        try (Engine e = new Engine(dev, init(), BATCH, 1_000_000, plan)) {
            for (int t = 1; t <= 3; t++) {
                if (t == 3) {
                    // Silent latents have no gradient, so their Adam moments are still 0; give every moment a
                    // non-zero value so that the reset is visible.
                    EngineState s = e.snapshot();
                    s.floats().forEach((key, v) -> {
                        if (key.endsWith(".adam_m") || key.endsWith(".adam_v")) {
                            for (int q = 0; q < v.length; q++) {
                                v[q] += 0.01f;
                            }
                        }
                    });
                    e.restore(s);
                    if (before != null) {
                        before.add(s);
                    }
                }
                e.step(up(dev, batch(t)), 1e-3, 0.5);
            }
            return e.snapshot();
        }
    }

    private static float[] row(float[] a, int i, int cols) {
        return Arrays.copyOfRange(a, i * cols, (i + 1) * cols);
    }

    @Test
    void resamplesSilentLatentsFromHighLossInputs() {
        try (Device dev = new CpuDevice(2)) {
            List<EngineState> before = new ArrayList<>();
            EngineState on = run(dev, new Resampler.Plan(7, 3, 2, 100), before);
            EngineState off = run(dev, new Resampler.Plan(7, 3, 2, 3), null); // until = 3: never due
            assertArrayEquals(new int[] {1, 7, 0}, on.ints().get(Resampler.STATE_KEY), "one resampling done, seed 7");
            assertArrayEquals(new int[] {0, 7, 0}, off.ints().get(Resampler.STATE_KEY));

            float[] x = batch(3);
            float[] bDec = on.floats().get("b_dec");
            float[] wDec = on.floats().get("W_dec");
            float[] wEnc = on.floats().get("W_enc");
            float[] bEnc = on.floats().get("b_enc");
            double aliveNorm = 0;
            for (int i = 1; i < M; i++) {
                if (i % 4 != 0) {
                    double s = 0;
                    for (int j = 0; j < D; j++) {
                        s += (double) wEnc[i * D + j] * wEnc[i * D + j];
                    }
                    aliveNorm += Math.sqrt(s) / (M - M / 4);
                }
            }
            for (int i = 0; i < M; i++) {
                boolean dead = i % 4 == 0;
                if (!dead) {
                    for (String key : new String[] {"W_enc", "W_dec"}) {
                        for (String sfx : new String[] {"", ".adam_m", ".adam_v"}) {
                            assertArrayEquals(row(off.floats().get(key + sfx), i, D), row(on.floats().get(key + sfx), i, D),
                                    key + sfx + " row " + i + " is alive and must be untouched");
                        }
                    }
                    for (String sfx : new String[] {"", ".adam_m", ".adam_v"}) {
                        assertEquals(off.floats().get("b_enc" + sfx)[i], on.floats().get("b_enc" + sfx)[i], "b_enc" + sfx);
                    }
                    continue;
                }
                assertNotEquals(Arrays.toString(row(off.floats().get("W_dec"), i, D)), Arrays.toString(row(wDec, i, D)),
                        "dead latent " + i + " must be resampled");
                // The decoder row is (x_b - b_dec) / |x_b - b_dec| for one of the high-loss rows.
                int found = -1;
                for (int b = 0; b < BATCH && found < 0; b++) {
                    double[] v = new double[D];
                    double n = 0;
                    for (int j = 0; j < D; j++) {
                        v[j] = (double) x[b * D + j] - bDec[j];
                        n += v[j] * v[j];
                    }
                    boolean match = true;
                    for (int j = 0; j < D; j++) {
                        match &= Math.abs(v[j] / Math.sqrt(n) - wDec[i * D + j]) < 1e-6;
                    }
                    found = match ? b : -1;
                }
                int b = found;
                assertTrue(Arrays.stream(BIG_ROWS).anyMatch(r -> r == b), "latent " + i + " took row " + b);
                for (int j = 0; j < D; j++) {
                    ParityAssert.assertClose("W_enc row " + i, 0.2 * aliveNorm * wDec[i * D + j], wEnc[i * D + j], 1e-6, 1e-5);
                }
                assertEquals(0f, bEnc[i], "b_enc of latent " + i);
                for (String key : new String[] {"W_dec.adam_m", "W_dec.adam_v"}) {
                    assertNotEquals(Arrays.toString(new float[D]), Arrays.toString(row(off.floats().get(key), i, D)),
                            key + " of latent " + i + " is non-zero without resampling (so the reset is visible)");
                }
                for (String key : new String[] {"W_enc.adam_m", "W_enc.adam_v", "W_dec.adam_m", "W_dec.adam_v"}) {
                    assertArrayEquals(new float[D], row(on.floats().get(key), i, D), key + " of latent " + i);
                }
                assertEquals(0f, on.floats().get("b_enc.adam_m")[i]);
                assertEquals(0f, on.floats().get("b_enc.adam_v")[i]);
            }
        }
    }

    @Test
    void resamplingIsDeterministicForASeedAndResumesBitIdentically() {
        try (Device dev = new CpuDevice(2)) {
            List<EngineState> before = new ArrayList<>();
            EngineState a = run(dev, new Resampler.Plan(7, 3, 2, 100), before);
            EngineState b = run(dev, new Resampler.Plan(7, 3, 2, 100), null);
            EngineState other = run(dev, new Resampler.Plan(8, 3, 2, 100), null);
            assertArrayEquals(a.floats().get("W_dec"), b.floats().get("W_dec"), "same seed, same rows");
            assertNotEquals(Arrays.toString(a.floats().get("W_dec")), Arrays.toString(other.floats().get("W_dec")),
                    "another seed draws other rows");
            // Restore the state before step 3 into an engine planned with another seed: the snapshot's seed wins.
            try (Engine e = new Engine(dev, init(), BATCH, 1_000_000, new Resampler.Plan(99, 3, 2, 100))) {
                e.restore(before.get(0));
                FloatBuf x = up(dev, batch(3));
                e.step(x, 1e-3, 0.5);
                EngineState r = e.snapshot();
                for (String key : a.floats().keySet()) {
                    assertArrayEquals(a.floats().get(key), r.floats().get(key), key + " after resume");
                }
                assertArrayEquals(a.ints().get(Resampler.STATE_KEY), r.ints().get(Resampler.STATE_KEY));
            }
        }
    }
}
