package dev.saetrain.selftest;

import dev.saetrain.device.Device;
import dev.saetrain.device.FloatBuf;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.Philox;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.train.Engine;

/**
 * The selftest's benchmark lines: tokens/s of the training step of each architecture on random rows held on the
 * device (as {@code sae-train bench} times it, from the random init: relu-like architectures on their dense path),
 * and the TFLOP/s of the encoder-shaped product [batch, dIn] x [dIn, nLatents] timed alone (best of a few), which
 * is the same for every architecture of one size. Informational: a line fails only when the step throws.
 */
public final class StepBench {
    /** The size benched: input width, expansion, k, batch, timed steps (after one untimed). */
    public record Size(int dIn, int expansion, int k, int batch, int steps) {
        public String label() {
            return "d " + dIn + " x" + expansion + " k " + k + " batch " + batch;
        }
    }

    private StepBench() {
    }

    /** Steady-state tokens/s of {@code label}'s step ("relu", "topk tied", ...) at {@code size}. */
    public static double tokensPerSecond(Device dev, String label, Size size) {
        String[] parts = label.split(" ");
        SaeConfig cfg = SaeConfig.of(Architecture.parse(parts[0]), size.dIn(), size.expansion(),
                size.k(), 5.0).withTied(parts.length > 1);
        float[] host = new float[size.batch() * size.dIn()];
        Philox.fillNormal(0, 99, host);
        try (Engine engine = new Engine(dev, SaeInit.initial(cfg, 0, new float[size.dIn()]), size.batch(), 10_000_000L);
             FloatBuf x = dev.allocFloat(host.length)) {
            dev.upload(host, 0, x, 0, host.length);
            double lr = cfg.defaultLr();
            engine.step(x, lr, cfg.l1());
            dev.synchronize();
            long t0 = System.nanoTime();
            for (int i = 0; i < size.steps(); i++) {
                engine.step(x, lr, cfg.l1());
            }
            dev.synchronize();
            return (double) size.steps() * size.batch() / ((System.nanoTime() - t0) / 1e9);
        }
    }

    /** TFLOP/s (2 batch dIn nLatents per product) of the encoder's product alone, best of {@code reps}. */
    public static double gemmTflops(Device dev, Size size, int reps) {
        return encoderProductGflops(dev, size.batch(), size.dIn(), size.dIn() * size.expansion(), 0, reps) / 1e3;
    }

    /**
     * GFLOP/s (2 batch dIn nLatents per product) of the encoder-shaped product [batch, dIn] x [dIn, nLatents]
     * alone on {@code dev}, on seeded normal data, the best of {@code reps} timed products after one untimed.
     */
    public static double encoderProductGflops(Device dev, int batch, int dIn, int nLatents, long seed, int reps) {
        try (FloatBuf a = dev.allocFloat((long) batch * dIn); FloatBuf w = dev.allocFloat((long) nLatents * dIn);
             FloatBuf c = dev.allocFloat((long) batch * nLatents)) {
            float[] h = new float[batch * dIn];
            Philox.fillNormal(seed, 7, h);
            dev.upload(h, 0, a, 0, h.length);
            long nw = (long) nLatents * dIn; // may pass 2^31: drawn and uploaded a chunk at a time
            float[] hw = new float[(int) Math.min(nw, 1 << 20)];
            for (long off = 0; off < nw; off += hw.length) {
                int n = (int) Math.min(hw.length, nw - off);
                Philox.fillNormal(seed, 8, off, hw);
                dev.upload(hw, 0, w, off, n);
            }
            dev.gemmNT(a, w, c, batch, nLatents, dIn, 1f, 0f);
            double best = Double.MAX_VALUE;
            for (int i = 0; i < reps; i++) {
                dev.synchronize();
                long t = System.nanoTime();
                dev.gemmNT(a, w, c, batch, nLatents, dIn, 1f, 0f);
                dev.synchronize();
                best = Math.min(best, (System.nanoTime() - t) / 1e9);
            }
            return 2.0 * batch * nLatents * dIn / best / 1e9;
        }
    }
}
