package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;

/**
 * The {@link CudaRuntime} the {@code cuda}-tagged tests of this package run on, or a visible skip. cuda-core's
 * {@code JCudaRuntime} is looked up reflectively (it is written on another branch): a public static no-argument
 * method returning a CudaRuntime, else a public no-argument constructor. No such class, or a runtime that
 * cannot start (no driver, no device: the LinkageError / CudaException JCuda throws), skips the test with the
 * reason. Once cuda-core is merged, replace this with its probe.
 */
final class GpuRuntime {
    private static CudaRuntime runtime;
    private static String missing;

    private GpuRuntime() {
    }

    /** The shared runtime, opened on first use; skips the calling test when there is none. */
    static synchronized CudaRuntime openOrSkip() {
        if (runtime == null && missing == null) {
            open();
        }
        assumeTrue(runtime != null, () -> "no CUDA device: " + missing);
        return runtime;
    }

    private static void open() {
        Class<?> c;
        try {
            c = Class.forName("dev.saetrain.device.cuda.JCudaRuntime");
        } catch (ClassNotFoundException e) {
            missing = "JCudaRuntime is not on the class path (cuda-core not merged)";
            return;
        }
        try {
            for (Method m : c.getMethods()) {
                if (Modifier.isStatic(m.getModifiers()) && m.getParameterCount() == 0
                        && CudaRuntime.class.isAssignableFrom(m.getReturnType())) {
                    runtime = (CudaRuntime) m.invoke(null);
                    return;
                }
            }
            Constructor<?> k = c.getConstructor();
            runtime = (CudaRuntime) k.newInstance();
        } catch (InvocationTargetException e) {
            missing = "JCudaRuntime did not start: " + e.getCause();
        } catch (ReflectiveOperationException e) {
            missing = "JCudaRuntime has no public no-argument factory or constructor: " + e;
        }
    }
}
