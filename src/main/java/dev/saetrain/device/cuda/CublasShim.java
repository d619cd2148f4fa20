package dev.saetrain.device.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The project's JNI bridge to cuBLAS ({@code src/main/native/cublas_shim.cpp}, built by
 * {@code scripts/build-native.sh} into the jar as {@value #RESOURCE}). It opens {@code libcublas.so.13} (CUDA 13)
 * or {@code libcublas.so.12} (CUDA 12) with dlopen at run time, so neither the build nor the jar depends on a CUDA
 * version; no CUDA header is involved. Handles, streams and device pointers are {@code long}s; every call but
 * {@link #open}, {@link #libraryFile} and {@link #statusText} returns the cuBLAS status (0 = success, -1 = no
 * library loaded), which {@link CublasGemm} checks.
 *
 * <p>Loading is two steps, each once per JVM: {@link #loadShim} (the JNI library from the jar) and
 * {@link #openCublas} (the first candidate that dlopen finds and that exports every entry point used).
 */
final class CublasShim {
    /** Where the build puts the shim in the jar (scripts/build-native.sh). */
    static final String RESOURCE = "/dev/saetrain/device/cuda/native/linux-x86_64/libsaetrain_cublas.so";
    /** Folders (':'-separated) searched for libcublas before the system's library path. */
    static final String PATH_ENV = "SAETRAIN_CUBLAS_PATH";
    /** The cuBLAS libraries the shim can use, newest first. */
    static final List<String> LIBRARIES = List.of("libcublas.so.13", "libcublas.so.12");
    /** Where CUDA toolkits install themselves: cuda (the default's link) and cuda-MAJOR.MINOR folders. */
    static final Path TOOLKIT_ROOT = Path.of("/usr/local");

    private static boolean shimTried;
    private static String shimFailure;
    private static String opened;

    private CublasShim() {
    }

    /**
     * Loads the JNI library from the jar (once per JVM). Returns null when it is loaded, else the reason it is not
     * (the jar carries none, the platform is not linux-x86_64, the temporary folder is not writable, or the
     * library does not link).
     */
    static synchronized String loadShim() {
        if (!shimTried) {
            shimTried = true;
            shimFailure = doLoadShim();
        }
        return shimFailure;
    }

    private static String doLoadShim() {
        String os = System.getProperty("os.name", "") + "/" + System.getProperty("os.arch", "");
        if (!os.startsWith("Linux/") || !(os.endsWith("/amd64") || os.endsWith("/x86_64"))) {
            return "the cuBLAS shim is built for linux-x86_64 only, this is " + os;
        }
        try (InputStream in = CublasShim.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return "this build carries no cuBLAS shim (it was built without g++; build with g++ on the PATH: "
                        + "mvn package)";
            }
            Path file = Files.createTempFile("saetrain-cublas-", ".so");
            try {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                System.load(file.toAbsolutePath().toString());
            } finally {
                // The loaded library stays mapped; the file itself is not needed after System.load.
                Files.deleteIfExists(file);
            }
            return null;
        } catch (IOException e) {
            return "could not write the cuBLAS shim to the temporary folder (java.io.tmpdir = "
                    + System.getProperty("java.io.tmpdir") + "): " + e.getMessage();
        } catch (UnsatisfiedLinkError e) {
            return "the cuBLAS shim did not load: " + oneLine(e.getMessage());
        }
    }

    /**
     * The paths to try, in order: for each folder of {@code searchPath} (':'-separated, may be null) each of
     * {@link #LIBRARIES}, then each bare name (found as dlopen finds libraries: LD_LIBRARY_PATH, the system's
     * library cache and folders), then each in each of {@code toolkitFolders}.
     */
    static List<String> candidates(String searchPath, List<String> toolkitFolders) {
        List<String> out = new ArrayList<>();
        if (searchPath != null) {
            for (String dir : searchPath.split(":")) {
                if (!dir.isBlank()) {
                    for (String lib : LIBRARIES) {
                        out.add(Path.of(dir.strip(), lib).toString());
                    }
                }
            }
        }
        out.addAll(LIBRARIES);
        for (String dir : toolkitFolders) {
            for (String lib : LIBRARIES) {
                out.add(dir + "/" + lib);
            }
        }
        return out;
    }

    /**
     * The lib64 folders of the CUDA toolkits installed under {@code root} that exist: {@code cuda/lib64} first (the
     * default toolkit), then {@code cuda-MAJOR.MINOR/lib64}, newest first. Unreadable or missing root: none.
     */
    static List<String> toolkitFolders(Path root) {
        List<String> out = new ArrayList<>();
        if (Files.isDirectory(root.resolve("cuda/lib64"))) {
            out.add(root.resolve("cuda/lib64").toString());
        }
        List<Path> versioned = new ArrayList<>();
        try (var dirs = Files.list(root)) {
            dirs.filter(d -> d.getFileName().toString().matches("cuda-\\d+(\\.\\d+)*"))
                    .filter(d -> Files.isDirectory(d.resolve("lib64")))
                    .forEach(versioned::add);
        } catch (IOException e) {
            return out;
        }
        versioned.sort((x, y) -> compareVersions(y.getFileName().toString().substring(5),
                x.getFileName().toString().substring(5)));
        for (Path d : versioned) {
            out.add(d.resolve("lib64").toString());
        }
        return out;
    }

    /** Compares dotted version numbers numerically ("13.0" > "12.10" > "12.9"). */
    private static int compareVersions(String x, String y) {
        String[] a = x.split("\\.");
        String[] b = y.split("\\.");
        for (int i = 0; i < Math.max(a.length, b.length); i++) {
            long p = i < a.length ? Long.parseLong(a[i]) : 0;
            long q = i < b.length ? Long.parseLong(b[i]) : 0;
            if (p != q) {
                return Long.compare(p, q);
            }
        }
        return 0;
    }

    /**
     * Opens the first of {@code candidates} that loads and exports every cuBLAS entry point the shim uses (once per
     * JVM: later calls return the first answer if it was a success). Needs {@link #loadShim} to have succeeded.
     * Returns null on success, else one line with each candidate's dlopen / dlsym error ({@code dlerror()}),
     * separated by "; ".
     */
    static synchronized String openCublas(List<String> candidates) {
        if (opened != null) {
            return null;
        }
        List<String> errors = new ArrayList<>();
        for (String c : candidates) {
            String error = open(c);
            if (error == null) {
                opened = c;
                return null;
            }
            errors.add(oneLine(error));
        }
        return String.join("; ", errors);
    }

    /** The candidate {@link #openCublas} opened, or null. */
    static synchronized String opened() {
        return opened;
    }

    /** "major.minor.patch" of cublasGetVersion's major * 10000 + minor * 100 + patch. */
    static String versionString(int version) {
        return version / 10000 + "." + (version / 100) % 100 + "." + version % 100;
    }

    private static String oneLine(String s) {
        return s == null ? "(no message)" : s.replaceAll("\\s+", " ").strip();
    }

    // natives (cublas_shim.cpp registers them in JNI_OnLoad)

    /** dlopen(path) and dlsym of every entry point; null when cuBLAS is loaded (now or before), else dlerror(). */
    static native String open(String path);

    /** The file the loaded cuBLAS came from (dladdr), or null when none is loaded. */
    static native String libraryFile();

    /** "CUBLAS_STATUS_... (description)" for a status (cublasGetStatusName / String), or null when none is loaded. */
    static native String statusText(int status);

    /** cublasCreate_v2; the handle goes to handleOut[0]. Uses the CUDA context current on the calling thread. */
    static native int create(long[] handleOut);

    /** cublasDestroy_v2. */
    static native int destroy(long handle);

    /** cublasSetStream_v2: the handle's work goes to {@code stream} (a CUstream / cudaStream_t). */
    static native int setStream(long handle, long stream);

    /** cublasSetPointerMode_v2(handle, CUBLAS_POINTER_MODE_HOST): alpha and beta are passed by value. */
    static native int setPointerModeHost(long handle);

    /** cublasGetVersion_v2; the version goes to versionOut[0]. */
    static native int getVersion(long handle, int[] versionOut);

    /**
     * cublasGemmEx on fp32 A, B, C (CUDA_R_32F), column-major: C = alpha op(A) op(B) + beta C with op(A) [m, k],
     * op(B) [k, n], C [m, n], lda / ldb / ldc the column strides; {@code computeType} a cublasComputeType_t,
     * cuBLAS's default algorithm (CUBLAS_GEMM_DEFAULT). Queued on the handle's stream.
     */
    static native int gemmEx(long handle, int transa, int transb, int m, int n, int k, float alpha, long a, int lda,
                             long b, int ldb, float beta, long c, int ldc, int computeType);
}
