package dev.saetrain.device.cuda;

/**
 * No usable CUDA device, with the reason on one line: no driver, no device, or a kernel failed to load. The CLI
 * turns it into exit code 2 under {@code --device cuda}, and into the reason it logs under {@code --device auto}.
 */
public final class CudaUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String reason) {
        super(reason);
    }
}
