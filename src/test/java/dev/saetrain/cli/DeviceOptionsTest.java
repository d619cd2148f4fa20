package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.Device;
import dev.saetrain.device.ReferenceOps;
import dev.saetrain.device.cpu.CpuDevice;
import dev.saetrain.device.cuda.CudaDevice;
import dev.saetrain.device.cuda.CudaUnavailableException;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.NpyWriter;
import dev.saetrain.io.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --device auto | cpu | cuda: the choice and its reason, with a stand-in for the GPU, and the real no-GPU path of
 * {@code train --device cuda} (exit 2, one line, no run directory).
 */
class DeviceOptionsTest {
    @TempDir
    Path tmp;

    private static DeviceOptions options(String device) {
        DeviceOptions o = new DeviceOptions();
        o.device = device;
        o.threads = 1;
        return o;
    }

    private static final DeviceOptions.CudaOpener NO_GPU = () -> {
        throw new CudaUnavailableException("no CUDA device: the driver reports 0 devices");
    };

    @Test
    void cudaWithoutAGpuIsABadUsageErrorNamingTheReason() {
        var e = assertThrows(UsageException.class, () -> options("cuda").open(NO_GPU));
        assertEquals("--device cuda: no CUDA device: the driver reports 0 devices; run with --device cpu (or auto) to "
                + "train on the CPU", e.getMessage());
    }

    @Test
    void autoTakesTheCpuAndSaysWhy() {
        DeviceOptions.Chosen c = options("auto").open(NO_GPU);
        try (Device d = c.device()) {
            assertInstanceOf(CpuDevice.class, d);
            assertEquals("cpu (--device auto: no CUDA device: the driver reports 0 devices)", c.why());
        }
    }

    @Test
    void autoAndCudaTakeAWorkingGpu() {
        Device gpu = new ReferenceOps();
        DeviceOptions.Chosen auto = options("auto").open(() -> gpu);
        assertSame(gpu, auto.device());
        assertTrue(auto.why().startsWith("cuda (--device auto"), auto.why());
        DeviceOptions.Chosen cuda = options("cuda").open(() -> gpu);
        assertSame(gpu, cuda.device());
        assertEquals("cuda (asked for with --device cuda)", cuda.why());
    }

    @Test
    void cpuNeverTouchesCuda() {
        DeviceOptions.Chosen c = options("cpu").open(() -> {
            throw new AssertionError("--device cpu probed CUDA");
        });
        c.device().close();
        assertEquals("cpu (asked for with --device cpu)", c.why());
    }

    @Test
    void unknownDeviceIsRejected() {
        var e = assertThrows(UsageException.class, () -> options("gpu").open(NO_GPU));
        assertTrue(e.getMessage().contains("auto, cpu or cuda"), e.getMessage());
    }

    @Test
    void trainWithDeviceCudaOnThisMachineWithoutAGpuExits2WithOneLine() throws IOException {
        Assumptions.assumeFalse(CudaDevice.probe().available(), "a CUDA device is present: this checks the no-GPU path");
        Path shards = tmp.resolve("shards");
        Random r = new Random(1);
        float[] x = new float[512 * 8];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        NpyWriter.write(shards.resolve("a.npy"), Tensor.f32(x, 512, 8));
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "train",
                shards.toString(), "--out", tmp.resolve("runs").toString(), "--name", "gpu", "--batch", "64",
                "--expansion", "2", "--k", "4", "--device", "cuda");
        String e = err.toString().strip();
        assertEquals(2, code, e);
        assertFalse(e.contains("\n"), "one line expected: " + e);
        assertTrue(e.startsWith("error: --device cuda: no NVIDIA driver") || e.startsWith("error: --device cuda: no CUDA"),
                e);
        assertFalse(Files.exists(tmp.resolve("runs/gpu")), "a run directory was left behind");
    }
}
