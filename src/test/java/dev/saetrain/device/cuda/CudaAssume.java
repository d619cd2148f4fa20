package dev.saetrain.device.cuda;

import org.junit.jupiter.api.Assumptions;

/** The skip of every {@code cuda}-tagged test on a machine without a usable GPU, with the probe's reason. */
public final class CudaAssume {
    private CudaAssume() {
    }

    private static boolean said;

    /**
     * Skips the calling test (visibly, with the reason) unless a CUDA device can be used. The reason is also printed
     * once per test JVM, so the Maven console says why the cuda tests were skipped, not only that they were.
     */
    public static void cudaDevice() {
        JCudaRuntime.Probe p = CudaDevice.probe();
        if (!p.available()) {
            synchronized (CudaAssume.class) {
                if (!said) {
                    said = true;
                    System.out.println("cuda-tagged tests are skipped: " + p.reason());
                }
            }
        }
        Assumptions.assumeTrue(p.available(), () -> "no CUDA device: " + p.reason());
    }
}
