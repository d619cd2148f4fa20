package dev.saetrain.train;

import static dev.saetrain.selftest.DeviceFixtures.gaussian;
import static dev.saetrain.selftest.DeviceFixtures.up;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.error.UsageException;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;
import dev.saetrain.model.SaeInit;
import dev.saetrain.model.SaeWeights;
import java.util.HashMap;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The threshold architectures' state survives snapshot and restore: an engine restored from a snapshot taken
 * after three steps continues bit for bit like the original (weights and exported threshold), and a snapshot
 * missing that state (batchtopk's threshold estimate, jumprelu's log_threshold) is refused by name.
 */
class EngineThresholdStateTest {
    private static final int BATCH = 17;
    private static final int D = 24;

    static List<SaeConfig> configs() {
        return List.of(SaeConfig.batchTopk(D, 3, 4), SaeConfig.jumpRelu(D, 3, 1.5));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void restoredEngineContinuesBitForBit(SaeConfig cfg) {
        SaeWeights init = SaeInit.initial(cfg, 501, gaussian(502, D, 0.2));
        try (Device dev = new CpuDevice(2); Engine a = new Engine(dev, init, BATCH, 10 * BATCH);
             Engine b = new Engine(dev, init, BATCH, 10 * BATCH)) {
            for (int t = 0; t < 3; t++) {
                a.step(up(dev, gaussian(510 + t, BATCH * D, 2.0)), 1e-2, 1.5);
            }
            EngineState s = a.snapshot();
            b.restore(s);
            for (int t = 3; t < 6; t++) {
                float[] x = gaussian(510 + t, BATCH * D, 2.0);
                a.step(up(dev, x), 1e-2, 1.5);
                b.step(up(dev, x), 1e-2, 1.5);
            }
            SaeWeights wa = a.weights();
            SaeWeights wb = b.weights();
            assertArrayEquals(wa.wEnc().toArray("test"), wb.wEnc().toArray("test"), "W_enc");
            assertArrayEquals(wa.wDec().toArray("test"), wb.wDec().toArray("test"), "W_dec");
            assertArrayEquals(wa.bEnc(), wb.bEnc(), "b_enc");
            assertArrayEquals(wa.bDec(), wb.bDec(), "b_dec");
            assertArrayEquals(wa.extras().get("threshold"), wb.extras().get("threshold"), "threshold");
            assertNotEquals(init.extras().get("threshold")[0], wa.extras().get("threshold")[0],
                    "the threshold must have moved for this test to mean anything");

            String key = cfg.arch() == Architecture.BATCHTOPK
                    ? BatchTopkSelection.THRESHOLD_KEY : "log_threshold";
            var floats = new HashMap<>(s.floats());
            floats.remove(key);
            EngineState missing = new EngineState(floats, s.ints(), s.step(), s.lastDensity());
            UsageException e = assertThrows(UsageException.class, () -> b.restore(missing));
            assertTrue(e.getMessage().contains(key), e.getMessage());
        }
    }
}
