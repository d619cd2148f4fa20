package dev.saetrain.cli;

import dev.saetrain.device.Device;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.device.cuda.CudaDevice;
import dev.saetrain.device.cuda.CudaUnavailableException;
import dev.saetrain.error.UsageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;

/** --device and --threads, shared by train and bench. */
final class DeviceOptions {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceOptions.class);

    @Option(names = "--device", defaultValue = "auto",
            description = "auto | cpu | cuda. auto takes the GPU when CUDA works and otherwise logs why it took the "
                    + "CPU; cuda fails (exit 2) when there is no usable GPU. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--threads", description = "CPU threads for OpenBLAS and the Java ops. Default: all cores (${DEFAULT-VALUE}).",
            defaultValue = "0")
    int threads;

    /** The device and a one-line account of how it was chosen (recorded in config.json as device_choice). */
    record Chosen(Device device, String why) {
    }

    /** Opens the CUDA device; separate so tests can stand in for a machine with or without a GPU. */
    interface CudaOpener {
        Device open();
    }

    Chosen open() {
        return open(CudaDevice::open);
    }

    /**
     * Most threads per core --threads may ask for. More only oversubscribes the cores, and far more fails outright:
     * the worker pool of --threads 100000 ends in an OutOfMemoryError ("unable to create native thread").
     */
    static final int MAX_THREADS_PER_CORE = 8;

    /** --threads resolved: 0 (the default) is every core; negative or absurd values are refused. */
    int threads() {
        return resolveThreads("--threads", threads);
    }

    /** {@code value} of {@code option}, 0 meaning all cores; refuses what this machine cannot run. */
    static int resolveThreads(String option, int value) {
        int cores = Runtime.getRuntime().availableProcessors();
        if (value < 0) {
            throw new UsageException(option + " must be >= 1 (or left out for all " + cores + " cores), got "
                    + value);
        }
        long max = (long) MAX_THREADS_PER_CORE * cores;
        if (value > max) {
            throw new UsageException(option + " " + value + " is more than " + MAX_THREADS_PER_CORE
                    + " threads for each of this machine's " + cores + " cores; give at most " + max
                    + " (or leave it out for one per core)");
        }
        return value == 0 ? cores : value;
    }

    Chosen open(CudaOpener cuda) {
        int t = threads();
        return switch (device) {
            case "cpu" -> new Chosen(new CpuDevice(t), "cpu (asked for with --device cpu)");
            case "cuda" -> {
                try {
                    Device d = cuda.open();
                    yield new Chosen(d, "cuda (asked for with --device cuda)");
                } catch (CudaUnavailableException e) {
                    throw new UsageException("--device cuda: " + e.getMessage()
                            + "; run with --device cpu (or auto) to train on the CPU");
                }
            }
            case "auto" -> {
                Chosen c;
                try {
                    Device d = cuda.open();
                    c = new Chosen(d, "cuda (--device auto: a usable CUDA device was found)");
                } catch (CudaUnavailableException e) {
                    c = new Chosen(new CpuDevice(t), "cpu (--device auto: " + e.getMessage() + ")");
                }
                LOG.info("device: {}", c.why());
                yield c;
            }
            default -> throw new UsageException("--device must be auto, cpu or cuda, got '" + device + "'");
        };
    }
}
