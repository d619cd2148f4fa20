package dev.saetrain.cli;

import dev.saetrain.device.Device;
import dev.saetrain.device.cuda.CudaDevice;
import dev.saetrain.device.cuda.JCudaRuntime;
import dev.saetrain.selftest.SelftestReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** The selftest's environment lines: Java, OS, CPU, threads, the device, and for CUDA the GPU and its driver. */
final class SelftestEnvironment {
    private SelftestEnvironment() {
    }

    static void print(SelftestReport rep, Device dev, int threads) {
        rep.env("java", System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ", "
                + System.getProperty("java.vendor") + ")");
        rep.env("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        rep.env("cpu", cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores available");
        rep.env("threads", Integer.toString(threads));
        rep.env("device", dev.describe());
        if (dev instanceof CudaDevice cuda && cuda.runtime() instanceof JCudaRuntime rt) {
            int[] cc = rt.computeCapability();
            long[] mem = rt.memoryInfo();
            rep.env("gpu", rt.deviceName());
            rep.env("capability", cc[0] + "." + cc[1]);
            rep.env("memory", String.format(Locale.ROOT, "%.1f GiB total, %.1f GiB free", mem[1] / 1073741824.0,
                    mem[0] / 1073741824.0));
            rep.env("driver", rt.driverVersionString() + " (CUDA driver API through JCuda; no CUDA runtime or "
                    + "toolkit is used)");
            rep.env("ptx", "loaded: " + rt.modulesLoaded());
            rep.env("gemm", rt.gemmPath());
        }
    }

    /** The CPU's model name from /proc/cpuinfo (Linux), else the architecture. */
    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }
}
