package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The one-line reasons the probe gives, from the messages JCuda's native loading throws (no GPU needed). */
class ProbeMessageTest {
    @Test
    void missingDriverIsNamedInOneShortLine() {
        String jcuda = "Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\" Operating system name: "
                + "Linux ---(start of nested stack traces)--- Stack trace from the attempt to load the library as a "
                + "resource: java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: "
                + "cannot open shared object file: No such file or directory at java.base/... ---(end of nested stack "
                + "traces)---";
        assertEquals("no NVIDIA driver (libcuda.so.1 not found: install the NVIDIA driver, >= 580)",
                JCudaRuntime.linkageReason(jcuda));
    }

    @Test
    void otherLoadFailuresKeepTheFirstSentenceOnly() {
        String m = "Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\" "
                + "---(start of nested stack traces)--- lots of frames " + "x".repeat(5000);
        String r = JCudaRuntime.linkageReason(m);
        assertTrue(r.startsWith("no NVIDIA driver: the JCuda driver library could not be loaded (Error while"), r);
        assertFalse(r.contains("nested stack traces") || r.contains("frames"), r);
        assertTrue(r.length() < 300, r);
    }

    @Test
    void probeIsCachedAndConsistent() {
        JCudaRuntime.Probe a = CudaDevice.probe();
        assertTrue(a == CudaDevice.probe(), "the probe runs once per JVM");
        assertFalse(a.reason().isBlank());
        assertFalse(a.reason().contains("\n"), a.reason());
    }
}
