package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import org.junit.jupiter.api.Test;

/**
 * Engine.weights() transposes the latent-major encoder chunk by chunk on the way down (65536 floats a chunk): the
 * result must be the weights it was given, bit for bit, also when the latents span several chunks and the last one
 * is partial (d = 48: 1365 latents a chunk; 3000 latents = 2 full chunks and 270 left), tied or not.
 */
class EngineWeightsTest {
    @Test
    void weightsComeBackAsGivenAcrossChunks() {
        for (boolean tied : new boolean[] {false, true}) {
            SaeConfig cfg = new SaeConfig(dev.saetrain.model.Architecture.TOPK, 48, 3000, 8, 0, true, tied);
            SaeWeights init = SaeInit.initial(cfg, 5, new float[48]);
            try (CpuDevice dev = new CpuDevice(2); Engine e = new Engine(dev, init, 4, 1_000_000L)) {
                SaeWeights back = e.weights();
                assertArrayEquals(init.wEnc().toArray("test"), back.wEnc().toArray("test"), "W_enc, tied " + tied);
                assertArrayEquals(init.wDec().toArray("test"), back.wDec().toArray("test"), "W_dec, tied " + tied);
                assertArrayEquals(init.bEnc(), back.bEnc());
                assertArrayEquals(init.bDec(), back.bDec());
            }
        }
    }

    /**
     * After releaseOptimizerState (the export frees gradients and Adam moments first) the weights still come back
     * as they were, for every architecture's extra tensors too, and a step, checkpoint, snapshot or restore is refused
     * (they would read freed memory).
     */
    @Test
    void releasingTheOptimizerStateKeepsTheWeightsAndRefusesSteps() {
        for (dev.saetrain.model.Architecture arch : dev.saetrain.model.Architecture.values()) {
            SaeConfig cfg = new SaeConfig(arch, 48, 300, arch.usesK() ? 8 : 0, arch.usesK() ? 0 : 1, true, false);
            SaeWeights init = SaeInit.initial(cfg, 5, new float[48]);
            try (CpuDevice dev = new CpuDevice(2); Engine e = new Engine(dev, init, 4, 1_000_000L)) {
                SaeWeights before = e.weights();
                EngineState state = e.snapshot();
                e.releaseOptimizerState();
                SaeWeights after = e.weights();
                assertArrayEquals(before.wEnc().toArray("test"), after.wEnc().toArray("test"), arch + ": W_enc");
                assertArrayEquals(before.wDec().toArray("test"), after.wDec().toArray("test"), arch + ": W_dec");
                assertArrayEquals(before.bEnc(), after.bEnc(), arch + ": b_enc");
                for (String name : before.extras().keySet()) {
                    assertArrayEquals(before.extras().get(name), after.extras().get(name), arch + ": " + name);
                }
                dev.saetrain.device.FloatBuf x = dev.allocFloat(4 * 48);
                assertThrows(IllegalStateException.class, () -> e.step(x, 1e-3, 1.0), arch + ": step");
                assertThrows(IllegalStateException.class, e::stateFloats, arch + ": checkpoint");
                assertThrows(IllegalStateException.class, e::snapshot, arch + ": snapshot");
                assertThrows(IllegalStateException.class, () -> e.restore(state), arch + ": restore");
                x.close();
            }
        }
    }
}
