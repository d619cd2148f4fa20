package dev.saetrain.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.device.cuda.CudaAssume;
import dev.saetrain.device.cuda.CudaDevice;
import dev.saetrain.selftest.StepParity;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One training step on CUDA and on the CPU from the same seed, initial weights and batch, for every architecture
 * (tied topk and relu included): {@link StepParity} states the comparison and its tolerances; sae-train selftest
 * runs the same.
 */
@Tag("cuda")
class CudaStepParityTest {
    static java.util.List<String> architectures() {
        return StepParity.ARCHITECTURES;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void oneStepOnCudaMatchesTheCpu(String arch) {
        CudaAssume.cudaDevice();
        StepParity.Outcome o = StepParity.compare(arch, () -> new CpuDevice(2), CudaDevice::open);
        assertTrue(o.passed(), arch + ": " + o);
    }
}
