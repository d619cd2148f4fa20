package dev.saetrain.device.cuda;

import java.util.List;

/**
 * The argument check of {@link CudaRuntime#launch}, in plain Java (no JCuda), so it is unit-tested without a GPU:
 * each argument must match the kind of the spec's parameter at its position. The checked values come back as
 * what the driver receives: a device address ({@code long}, 0 for null) for {@link Param#PTR}, and the boxed
 * scalar for the others.
 */
public final class LaunchArgs {
    private LaunchArgs() {
    }

    /**
     * The values to pass for {@code args} launching {@code kernel}; IllegalArgumentException naming the kernel,
     * the position and what was expected when the count or any kind differs.
     */
    public static Object[] check(KernelSpec kernel, Object... args) {
        List<Param> params = kernel.params();
        if (args.length != params.size()) {
            throw new IllegalArgumentException(kernel + ": " + args.length + " arguments for " + params.size()
                    + " parameters");
        }
        Object[] out = new Object[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            Param p = params.get(i);
            out[i] = switch (p) {
                case PTR -> {
                    if (a == null) {
                        yield 0L;
                    }
                    if (a instanceof CudaFloatBuf f) {
                        yield f.address();
                    }
                    if (a instanceof CudaIntBuf b) {
                        yield b.address();
                    }
                    if (a instanceof DevPtr d) {
                        yield d.address();
                    }
                    throw mismatch(kernel, i, p, a);
                }
                case I32 -> {
                    if (a instanceof Integer) {
                        yield a;
                    }
                    throw mismatch(kernel, i, p, a);
                }
                case I64 -> {
                    if (a instanceof Long) {
                        yield a;
                    }
                    throw mismatch(kernel, i, p, a);
                }
                case F32 -> {
                    if (a instanceof Float) {
                        yield a;
                    }
                    throw mismatch(kernel, i, p, a);
                }
            };
        }
        return out;
    }

    private static IllegalArgumentException mismatch(KernelSpec kernel, int i, Param p, Object a) {
        String want = switch (p) {
            case PTR -> "a CudaFloatBuf, CudaIntBuf, DevPtr or null";
            case I32 -> "an Integer";
            case I64 -> "a Long";
            case F32 -> "a Float";
        };
        return new IllegalArgumentException(kernel + ": argument " + i + " is " + (a == null ? "null"
                : a.getClass().getSimpleName() + " " + a) + "; parameter " + i + " is " + p + ", which takes " + want);
    }
}
