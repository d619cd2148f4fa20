package dev.saetrain.device.cuda;

import java.util.ArrayList;
import java.util.List;

/** Every kernel the Java side launches, from every op class: what KernelSignatureTest checks against the PTX. */
public final class KernelCatalog {
    private KernelCatalog() {
    }

    public static List<KernelSpec> all() {
        List<KernelSpec> all = new ArrayList<>();
        all.addAll(CudaActivationOps.KERNELS);
        all.addAll(CudaGemm.KERNELS);
        all.addAll(CudaDevice.KERNELS);
        return List.copyOf(all);
    }
}
