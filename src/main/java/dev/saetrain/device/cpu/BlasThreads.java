package dev.saetrain.device.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets OpenBLAS's thread count through the library's own {@code openblas_set_num_threads}, looked up once.
 *
 * <p>The presets' {@code blas_set_num_threads} resolves its targets on every call ({@code Loader.load} of the
 * presets class, four symbol lookups, new function-pointer objects): 0.3-0.6 ms and tens of kilobytes of garbage
 * a call, measured, and a CPU step switches OpenBLAS to one thread and back several times (see
 * {@link CpuDevice#singleThreadedBlas}). This calls the same function through a pointer resolved at class load:
 * about 0.05 us a call.
 */
final class BlasThreads {
    private static final Logger LOG = LoggerFactory.getLogger(BlasThreads.class);

    /** The presets' function-pointer type for {@code void f(int)}; its allocating constructor is protected. */
    private static final class Setter extends org.bytedeco.openblas.presets.openblas_nolapack.SetNumThreads {
        Setter(Pointer target) {
            super();
            put(target);
        }
    }

    private static final Setter SETTER = resolve();

    private BlasThreads() {
    }

    private static Setter resolve() {
        Loader.load(openblas_nolapack.class);
        Pointer target = Loader.addressof("openblas_set_num_threads");
        if (target == null || target.isNull()) {
            LOG.warn("openblas_set_num_threads not found in the loaded BLAS; setting its threads through the "
                    + "presets' blas_set_num_threads instead (about 0.5 ms a call)");
            return null;
        }
        return new Setter(target);
    }

    /** Whether calls go straight to openblas_set_num_threads (false: the slow presets fallback, logged). */
    static boolean direct() {
        return SETTER != null;
    }

    /** Sets the number of threads OpenBLAS uses for the calls that follow. */
    static void set(int threads) {
        if (SETTER != null) {
            SETTER.call(threads);
        } else {
            openblas_nolapack.blas_set_num_threads(threads);
        }
    }
}
