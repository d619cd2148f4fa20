package dev.saetrain.device.cuda;

import java.util.List;

/**
 * One CUDA kernel as the Java side launches it: the PTX module it lives in (the file
 * {@code src/main/resources/dev/saetrain/device/cuda/kernels/<module>.ptx}, built from
 * {@code src/main/cuda/<module>.cu}), its {@code extern "C"} name, and its parameter list in order.
 * {@code KernelSignatureTest} checks every spec against the committed PTX's {@code .entry} declarations,
 * and {@link CudaRuntime#launch} checks the arguments of every launch against the spec.
 */
public record KernelSpec(String module, String name, List<Param> params) {
    public KernelSpec {
        params = List.copyOf(params);
    }

    public static KernelSpec of(String module, String name, Param... params) {
        return new KernelSpec(module, name, List.of(params));
    }

    @Override
    public String toString() {
        return module + ".ptx:" + name + params;
    }
}
