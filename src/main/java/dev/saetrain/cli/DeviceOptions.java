package dev.saetrain.cli;

import dev.saetrain.device.Device;
import dev.saetrain.device.cpu.CpuDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;

/** --device and --threads, shared by train and bench. */
final class DeviceOptions {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceOptions.class);

    @Option(names = "--device", defaultValue = "auto",
            description = "auto | cpu. auto takes CUDA when it works (not in this build yet) and says why not. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--threads", description = "CPU threads for OpenBLAS and the Java ops. Default: all cores (${DEFAULT-VALUE}).",
            defaultValue = "0")
    int threads;

    /** The device and a one-line account of how it was chosen. */
    record Chosen(Device device, String why) {
    }

    Chosen open() {
        int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        return switch (device) {
            case "cpu" -> new Chosen(new CpuDevice(t), "cpu (asked for with --device cpu)");
            case "auto" -> {
                String why = "cpu (--device auto: this build has no CUDA device yet)";
                LOG.info("device: {}", why);
                yield new Chosen(new CpuDevice(t), why);
            }
            default -> throw new IllegalArgumentException("--device must be auto or cpu, got '" + device + "'");
        };
    }
}
