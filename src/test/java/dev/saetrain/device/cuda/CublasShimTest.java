package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cuBLAS shim without a GPU: the JNI library the build put into the classes loads (its JNI_OnLoad registers
 * every native of {@link CublasShim}, so a declaration that disagrees with the C table fails here), and a missing or
 * wrong libcublas gives one line with dlerror()'s text. Skipped, with the reason, where the build had no g++ (no shim
 * in the classes) or where this JVM already opened a real cuBLAS (a GPU test ran first).
 *
 * <p>The last test opens a stand-in cuBLAS ({@code src/test/native/fake_cublas.cpp}, built here with g++) that
 * computes on host memory, and runs {@link CublasGemm} through the shim end to end: load, handle, stream, version,
 * products of every transpose combination and a refused call. It runs last because a JVM opens one cuBLAS for good,
 * and not where a GPU is present, whose tests need the real one.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CublasShimTest {
    private static final long STREAM = 0x5eed;

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
    void candidatesTryTheUsersFoldersThenTheLibraryPathThenTheToolkits() {
        assertEquals(List.of("/opt/a/libcublas.so.13", "/opt/a/libcublas.so.12", "/b/libcublas.so.13",
                "/b/libcublas.so.12", "libcublas.so.13", "libcublas.so.12", "/t/lib64/libcublas.so.13",
                "/t/lib64/libcublas.so.12"), CublasShim.candidates("/opt/a: :/b/", List.of("/t/lib64")));
        assertEquals(List.of("libcublas.so.13", "libcublas.so.12"), CublasShim.candidates(null, List.of()));
    }

    @Test
    void toolkitFoldersAreTheDefaultThenTheNewestVersionFirst(@TempDir Path root) throws IOException {
        for (String d : List.of("cuda/lib64", "cuda-12.9/lib64", "cuda-12.10/lib64", "cuda-13.0/lib64", "cuda-11.8",
                "cuda-x/lib64", "cudnn/lib64")) {
            Files.createDirectories(root.resolve(d));
        }
        assertEquals(List.of(root + "/cuda/lib64", root + "/cuda-13.0/lib64", root + "/cuda-12.10/lib64",
                root + "/cuda-12.9/lib64"), CublasShim.toolkitFolders(root));
        assertEquals(List.of(), CublasShim.toolkitFolders(root.resolve("missing")));
    }

    @Test
    void versionNumbersReadAsCublasWritesThem() {
        assertEquals("13.0.2", CublasShim.versionString(130002));
        assertEquals("12.9.1", CublasShim.versionString(120901));
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void productsGoThroughTheShimToCublasGemmEx(@TempDir Path dir) throws Exception {
        assumeShim();
        assumeNoCublasOpened();
        assumeTrue(!JCudaRuntime.probe().available(), "a GPU is present: this JVM must open the real cuBLAS");
        buildFake(dir);
        CublasGemm g = CublasGemm.tryLoad(STREAM, dir.toString());
        assertTrue(g != null, CublasGemm.lastFailure());
        assertEquals(dir.resolve("libcublas.so.13").toString(), CublasShim.opened());
        assertTrue(g.description().startsWith("cuBLAS 13.0.2 (cublasGemmEx, TF32 inputs, fp32 accumulation; "),
                g.description());
        SplittableRandom rnd = new SplittableRandom(3);
        int[][] sizes = {{7, 13, 5}, {1, 9, 2}, {11, 1, 7}, {6, 6, 1}};
        for (int[] s : sizes) {
            for (int combo = 0; combo < 4; combo++) {
                checkProduct(g, rnd, (combo & 2) != 0, (combo & 1) != 0, s[0], s[1], s[2], combo);
            }
        }
        // A stride below what cuBLAS accepts (the runtime checks first; here the shim is called directly).
        long p = address(ByteBuffer.allocateDirect(4096));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> g.gemm(false, false, 4, 5, 3, 1f, p, 2, p, 5, 0f, p, 5));
        assertEquals("cublasGemmEx failed: CUBLAS_STATUS_INVALID_VALUE (an invalid numeric value was used as an "
                + "argument) for row-major C [4, 5] = A B, k = 3, lda = 2, ldb = 5, ldc = 5", e.getMessage());
        g.close();
        assertThrows(IllegalStateException.class, () -> g.gemm(false, false, 1, 1, 1, 1f, p, 1, p, 1, 0f, p, 1));
    }

    /** Row-major C = alpha op(A) op(B) + beta C through the shim, against a double loop; padded strides. */
    private static void checkProduct(CublasGemm g, SplittableRandom rnd, boolean ta, boolean tb, int m, int n, int k,
                                     int pad) throws ReflectiveOperationException {
        int lda = (ta ? m : k) + pad;
        int ldb = (tb ? k : n) + 1;
        int ldc = n + pad;
        float[] a = random(rnd, (ta ? k : m) * lda);
        float[] b = random(rnd, (tb ? n : k) * ldb);
        float[] c = random(rnd, m * ldc);
        FloatBuffer da = direct(a);
        FloatBuffer db = direct(b);
        FloatBuffer dc = direct(c);
        float alpha = -0.5f;
        float beta = pad % 2 == 0 ? 0f : 2f;
        g.gemm(ta, tb, m, n, k, alpha, address(da), lda, address(db), ldb, beta, address(dc), ldc);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < ldc; j++) {
                float want = c[i * ldc + j];
                if (j < n) {
                    double s = 0;
                    for (int l = 0; l < k; l++) {
                        s += (double) (ta ? a[l * lda + i] : a[i * lda + l]) * (tb ? b[j * ldb + l] : b[l * ldb + j]);
                    }
                    want = (float) (alpha * s + (beta == 0f ? 0 : beta * (double) c[i * ldc + j]));
                }
                assertEquals(want, dc.get(i * ldc + j), 1e-5f, (ta ? "T" : "N") + (tb ? "T" : "N") + " [" + m
                        + ", " + n + ", " + k + "] C[" + i + ", " + j + "]" + (j >= n ? " (padding)" : ""));
            }
        }
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return x;
    }

    private static FloatBuffer direct(float[] x) {
        FloatBuffer b = ByteBuffer.allocateDirect(x.length * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(x).flip();
        return b;
    }

    /** A direct buffer's address (java.nio is opened to the tests in pom.xml's surefire argLine). */
    private static long address(Buffer b) throws ReflectiveOperationException {
        Field f = Buffer.class.getDeclaredField("address");
        f.setAccessible(true);
        return f.getLong(b);
    }

    /** g++ -shared -fPIC -o DIR/libcublas.so.13 src/test/native/fake_cublas.cpp; skips without g++. */
    private static void buildFake(Path dir) throws IOException, InterruptedException {
        Path src = Path.of("src/test/native/fake_cublas.cpp").toAbsolutePath();
        assertTrue(Files.isRegularFile(src), src + " is missing");
        Process p;
        try {
            p = new ProcessBuilder("g++", "-shared", "-fPIC", "-O1", "-o", dir.resolve("libcublas.so.13").toString(),
                    src.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "no g++ to build the stand-in cuBLAS: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "g++ did not finish");
        assertEquals(0, p.exitValue(), "g++ failed on " + src + ":\n" + out);
    }
}
