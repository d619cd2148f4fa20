package dev.saetrain.device.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.DeviceMemoryError;
import dev.saetrain.device.FloatBuf;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CPU buffers live outside the JVM's direct-memory limit, are freed by close, and a refusal is a clear error. */
class NativeMemoryTest {
    /** 8 buffers of 32 MiB, four rounds: 1 GiB allocated and freed in a JVM whose direct memory is capped at 32 MiB. */
    @TempDir
    Path tmp;

    @Test
    void buffersAreNotCappedByMaxDirectMemorySize() throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        ProcessBuilder pb = new ProcessBuilder(java, "-XX:MaxDirectMemorySize=32m", "-Xmx64m", "-ea", "-cp",
                System.getProperty("java.class.path"), AllocatingChild.class.getName()).redirectErrorStream(true);
        Path log = tmp.resolve("child.log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child did not finish in 2 minutes");
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("allocateDirect refused") && out.contains("native ok 1024 MiB"), out);
    }

    /** The child: a direct buffer past the cap is refused (so the cap is in force), CPU buffers past it are not. */
    static final class AllocatingChild {
        public static void main(String[] args) {
            try {
                java.nio.ByteBuffer.allocateDirect(64 << 20);
                System.out.println("allocateDirect was not capped");
                System.exit(1);
            } catch (OutOfMemoryError expected) {
                System.out.println("allocateDirect refused");
            }
            long floats = 8L << 20; // 32 MiB
            long total = 0;
            try (CpuDevice dev = new CpuDevice(1)) {
                for (int round = 0; round < 4; round++) {
                    List<FloatBuf> bufs = new ArrayList<>();
                    for (int i = 0; i < 8; i++) {
                        FloatBuf b = dev.allocFloat(floats);
                        float[] one = new float[1];
                        dev.download(b, floats - 1, one, 0, 1);
                        if (one[0] != 0f) {
                            throw new AssertionError("not zero-filled");
                        }
                        dev.upload(new float[] {round + i}, 0, b, floats - 1, 1);
                        bufs.add(b);
                        total += 4 * floats;
                    }
                    for (int i = 0; i < 8; i++) {
                        float[] one = new float[1];
                        dev.download(bufs.get(i), floats - 1, one, 0, 1);
                        if (one[0] != round + i) {
                            throw new AssertionError("buffer " + i + " lost its value");
                        }
                        bufs.get(i).close();
                        bufs.get(i).close(); // twice is harmless
                    }
                }
            }
            System.out.println("native ok " + (total >> 20) + " MiB");
        }
    }

    @Test
    void closeFreesOnceAndTheBufferIsZeroFilled() {
        NativeMemory m = NativeMemory.calloc(1000, "a test buffer");
        java.nio.ByteBuffer bytes = m.bytes(0, 1000);
        assertEquals(1000, bytes.capacity());
        for (int i = 0; i < 1000; i++) {
            assertEquals(0, bytes.get(i));
        }
        m.free();
        assertTrue(m.isFreed());
        m.free();
        assertTrue(m.isFreed());
    }

    @Test
    void aRefusedAllocationNamesTheSize() {
        // 4 PiB: past any machine and past x86-64's 128 TiB of user address space, so even overcommit refuses it.
        DeviceMemoryError e = assertThrows(DeviceMemoryError.class, () -> NativeMemory.calloc(1L << 52, "a test buffer"));
        assertTrue(e.getMessage().contains("4194304.0 GiB") && e.getMessage().contains(Long.toString(1L << 52))
                && e.getMessage().contains("a test buffer"), e.getMessage());
        assertTrue(e.forSae("x256-k32").getMessage().startsWith("SAE x256-k32: the operating system refused"),
                e.forSae("x256-k32").getMessage());
    }
}
