package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The cuBLAS shim without a GPU: the JNI library the build put into the classes loads (its JNI_OnLoad registers
 * every native of {@link CublasShim}, so a declaration that disagrees with the C table fails here), and a missing or
 * wrong libcublas gives one line with dlerror()'s text. Skipped, with the reason, where the build had no g++ (no shim
 * in the classes) or where this JVM already opened a real cuBLAS (a GPU test ran first).
 */
class CublasShimTest {
    private static void assumeShim() {
        String why = CublasShim.loadShim();
        assumeTrue(CublasShimTest.class.getResource(CublasShim.RESOURCE) != null,
                "the build carries no cuBLAS shim (no g++): " + why);
        assertNull(why, "the shim is in the classes but did not load");
    }

    private static void assumeNoCublasOpened() {
        assumeTrue(CublasShim.opened() == null, "a real cuBLAS is already open in this JVM: " + CublasShim.opened());
    }

    @Test
    void theShimLoadsAndItsNativesAnswerWithoutALibrary() {
        assumeShim();
        assumeNoCublasOpened();
        assertNull(CublasShim.libraryFile());
        assertNull(CublasShim.statusText(0));
        assertEquals(-1, CublasShim.create(new long[1]), "no library open: -1, not a crash");
        assertEquals(-1, CublasShim.gemmEx(0, 0, 0, 1, 1, 1, 1f, 0, 1, 0, 1, 0f, 0, 1,
                CublasGemm.CUBLAS_COMPUTE_32F_FAST_TF32));
        assertEquals("cublasCreate_v2 failed: no cuBLAS library loaded", CublasGemm.callFailed("cublasCreate_v2", -1));
    }

    @Test
    void missingLibrariesAreReportedWithDlerrorOnOneLine() {
        assumeShim();
        assumeNoCublasOpened();
        String r = CublasShim.openCublas(List.of("/nonexistent-dir/libcublas.so.13", "libcublas-missing.so.99"));
        assertTrue(r.startsWith("/nonexistent-dir/libcublas.so.13: cannot open shared object file"), r);
        assertTrue(r.contains("; libcublas-missing.so.99: cannot open shared object file"), r);
        assertFalse(r.contains("\n"), r);
        assertNull(CublasShim.opened());
    }

    @Test
    void aLibraryWithoutTheCublasEntryPointsIsRefused() {
        assumeShim();
        assumeNoCublasOpened();
        String r = CublasShim.openCublas(List.of("libc.so.6"));
        assertTrue(r.contains("cublasCreate_v2"), r);
        assertNull(CublasShim.opened(), "a library without cuBLAS's entry points does not count as loaded");
        assertNull(CublasShim.libraryFile());
    }

    @Test
    void theFallbackReasonIsOneLineNamingTheCall() {
        assumeShim();
        assumeNoCublasOpened();
        CublasGemm g = CublasGemm.tryLoad(0, "/nonexistent-dir");
        if (g != null) {
            g.close();
            assumeTrue(false, "cuBLAS loads and runs on this machine: " + g.description());
        }
        String r = CublasGemm.lastFailure();
        assertFalse(r.contains("\n"), r);
        if (r.startsWith("cuBLAS not loaded: dlopen: ")) {
            // No libcublas on this machine: each candidate's dlerror, the user's folder first, then the hint.
            assertTrue(r.startsWith("cuBLAS not loaded: dlopen: /nonexistent-dir/libcublas.so.13: cannot open shared "
                    + "object file"), r);
            assertTrue(r.contains("; libcublas.so.12: "), r);
            assertTrue(r.endsWith("on LD_LIBRARY_PATH or " + CublasShim.PATH_ENV + ")"), r);
        } else {
            // A libcublas is installed but there is no GPU here: cublasCreate fails, and says so.
            assertTrue(r.startsWith("cuBLAS not usable: cublasCreate_v2 failed: CUBLAS_STATUS_"), r);
        }
    }

    @Test
    void candidatesTryTheUsersFoldersThenTheLibraryPathThenTheToolkit() {
        assertEquals(List.of("/opt/a/libcublas.so.13", "/opt/a/libcublas.so.12", "/b/libcublas.so.13",
                "/b/libcublas.so.12", "libcublas.so.13", "libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so.13",
                "/usr/local/cuda/lib64/libcublas.so.12"), CublasShim.candidates("/opt/a: :/b/"));
        assertEquals(List.of("libcublas.so.13", "libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so.13",
                "/usr/local/cuda/lib64/libcublas.so.12"), CublasShim.candidates(null));
    }

    @Test
    void versionNumbersReadAsCublasWritesThem() {
        assertEquals("13.0.2", CublasShim.versionString(130002));
        assertEquals("12.9.1", CublasShim.versionString(120901));
    }
}
