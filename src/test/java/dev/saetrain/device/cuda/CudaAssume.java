package dev.saetrain.device.cuda;

import org.junit.jupiter.api.Assumptions;

/** The skip of every {@code cuda}-tagged test on a machine without a usable GPU, with the probe's reason. */
public final class CudaAssume {
    private CudaAssume() {
    }

    /** Skips the calling test (visibly, with the reason) unless a CUDA device can be used. */
    public static void cudaDevice() {
        JCudaRuntime.Probe p = CudaDevice.probe();
        Assumptions.assumeTrue(p.available(), () -> "no CUDA device: " + p.reason());
    }
}
