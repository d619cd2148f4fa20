package dev.saetrain.device.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import dev.saetrain.device.BatchUpload;
import dev.saetrain.device.FloatBuf;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link CudaRuntime} over the JCuda driver API: the only class that imports {@code jcuda.*}. Opening it takes the
 * primary context of device 0, loads every PTX module the {@link KernelCatalog} names from
 * {@code /dev/saetrain/device/cuda/kernels/} with {@code cuModuleLoadData}, resolves every {@code CUfunction} once,
 * creates a compute stream and a copy stream, and loads cuBLAS ({@link CublasGemm}: libcublas.so.13 or .so.12
 * through the project's JNI shim) when it can; otherwise dense products go to {@link CudaGemm}, and the log says
 * which, with the reason, on one line.
 *
 * <p>Both streams are blocking streams: the synchronous copies of {@link #upload} / {@link #download} (legacy
 * default stream) wait for the kernels queued before them, which is what the Device contract needs.
 */
public final class JCudaRuntime implements CudaRuntime, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JCudaRuntime.class);
    private static final String PTX_DIR = "/dev/saetrain/device/cuda/kernels/";
    private static final int DEFAULT_SHARED_LIMIT = 48 * 1024;

    /** What the probe found: whether a CUDA device can be used, and why not (no driver, no device, ...). */
    public record Probe(boolean available, String reason) {
    }

    private static Probe probe;

    private final CUdevice cuDevice = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final Stream compute = new Stream();
    private final CUstream copy = new CUstream();
    private final List<CUmodule> modules = new java.util.ArrayList<>();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Set<String> sharedRaised = new HashSet<>();
    private final Set<Long> live = new HashSet<>();
    private final ThreadLocal<Boolean> bound = new ThreadLocal<>();
    private final String deviceName;
    private final int driverVersion;
    private final int multiprocessors;
    private final int maxShared;
    private final CublasGemm cublas;
    private final CudaGemm kernelGemm;
    private boolean closed;

    /**
     * Probes once per JVM (later calls return the cached answer): the JCuda natives and libcuda load, the driver
     * initialises, and there is at least one device. JCuda's first touch without a driver throws
     * UnsatisfiedLinkError and every later touch NoClassDefFoundError, hence the cache.
     */
    public static synchronized Probe probe() {
        if (probe == null) {
            probe = doProbe();
        }
        return probe;
    }

    private static Probe doProbe() {
        try {
            JCudaDriver.setExceptionsEnabled(true);
            cuInit(0);
            int[] count = {0};
            cuDeviceGetCount(count);
            if (count[0] < 1) {
                return new Probe(false, "no CUDA device: the driver reports 0 devices");
            }
            return new Probe(true, "CUDA driver found " + count[0] + " device(s)");
        } catch (LinkageError e) {
            return new Probe(false, linkageReason(oneLine(e)));
        } catch (CudaException e) {
            String m = oneLine(e);
            return new Probe(false, (m.contains("NO_DEVICE") ? "no CUDA device: " : "CUDA driver unusable: ") + m);
        }
    }

    /**
     * The one-line reason for a failed native load. JCuda's message carries both load attempts' stack traces; the
     * cause that matters is whether libcuda.so.1 (the driver) is missing, or else the message's first sentence.
     */
    static String linkageReason(String message) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(libcuda\\.so[.0-9]*): cannot open shared object file")
                .matcher(message);
        if (m.find()) {
            return "no NVIDIA driver (" + m.group(1) + " not found: install the NVIDIA driver, >= 580)";
        }
        String first = message.split("---\\(start of nested stack traces\\)", 2)[0].trim();
        if (first.length() > 200) {
            first = first.substring(0, 200) + "...";
        }
        return "no NVIDIA driver: the JCuda driver library could not be loaded (" + first + ")";
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replaceAll("\\s+", " ").trim();
    }

    /**
     * Opens device 0. Throws {@link CudaUnavailableException} with one line (no driver / no device / kernel load
     * failed) when it cannot be used.
     */
    public static JCudaRuntime open() {
        Probe p = probe();
        if (!p.available()) {
            throw new CudaUnavailableException(p.reason());
        }
        try {
            return new JCudaRuntime();
        } catch (CudaException e) {
            throw new CudaUnavailableException("CUDA device unusable: " + oneLine(e));
        }
    }

    private JCudaRuntime() {
        cuDeviceGet(cuDevice, 0);
        cuDevicePrimaryCtxRetain(context, cuDevice);
        try {
            bind();
            this.deviceName = nameOf(cuDevice);
            int[] v = {0};
            cuDriverGetVersion(v);
            this.driverVersion = v[0];
            this.multiprocessors = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
            this.maxShared = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
            cuStreamCreate(compute, 0);
            cuStreamCreate(copy, 0);
            loadModules();
            this.kernelGemm = new CudaGemm(this);
            this.cublas = CublasGemm.tryLoad(compute.handle(), System.getenv(CublasShim.PATH_ENV));
        } catch (RuntimeException e) {
            // Not usable after all (e.g. a kernel failed to load): give the context back before saying so.
            cuDevicePrimaryCtxRelease(cuDevice);
            throw e;
        }
        LOG.info("CUDA: {} (driver {}), {} SMs; dense products: {}", deviceName, driverVersionString(), multiprocessors,
                gemmPath());
    }

    private static String nameOf(CUdevice dev) {
        byte[] name = new byte[256];
        cuDeviceGetName(name, name.length, dev);
        int len = 0;
        while (len < name.length && name[len] != 0) {
            len++;
        }
        return new String(name, 0, len, java.nio.charset.StandardCharsets.US_ASCII);
    }

    private int attribute(int which) {
        int[] a = {0};
        cuDeviceGetAttribute(a, which, cuDevice);
        return a[0];
    }

    /** Loads the modules KernelCatalog names and resolves every function, failing with a clear line on the first gap. */
    private void loadModules() {
        Map<String, CUmodule> byName = new LinkedHashMap<>();
        for (KernelSpec k : KernelCatalog.all()) {
            CUmodule mod = byName.get(k.module());
            if (mod == null) {
                mod = new CUmodule();
                byte[] ptx = readPtx(k.module());
                try {
                    cuModuleLoadData(mod, ptx);
                } catch (CudaException e) {
                    throw new CudaUnavailableException("kernel load failed: " + k.module() + ".ptx: " + oneLine(e)
                            + " (the committed PTX needs NVIDIA driver >= 580; update the driver or rebuild the PTX "
                            + "with your nvcc: make -f kernels.mk)");
                }
                modules.add(mod);
                byName.put(k.module(), mod);
            }
            CUfunction f = new CUfunction();
            try {
                cuModuleGetFunction(f, mod, k.name());
            } catch (CudaException e) {
                throw new CudaUnavailableException("kernel load failed: " + k.module() + ".ptx has no entry "
                        + k.name() + " (" + oneLine(e) + "); regenerate the PTX with make -f kernels.mk");
            }
            functions.put(key(k), f);
        }
        LOG.debug("CUDA: {} modules, {} kernels resolved", byName.size(), functions.size());
    }

    private static String key(KernelSpec k) {
        return k.module() + ":" + k.name();
    }

    /** The PTX text of a module, NUL-terminated as cuModuleLoadData wants it. */
    static byte[] readPtx(String module) {
        String path = PTX_DIR + module + ".ptx";
        try (InputStream in = JCudaRuntime.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new CudaUnavailableException("kernel load failed: resource " + path + " is missing from the jar");
            }
            byte[] text = in.readAllBytes();
            byte[] z = java.util.Arrays.copyOf(text, text.length + 1);
            return z;
        } catch (IOException e) {
            throw new CudaUnavailableException("kernel load failed: cannot read " + path + ": " + e.getMessage());
        }
    }

    /** Makes the context current on the calling thread (the training loop may not be the thread that opened it). */
    private void bind() {
        if (bound.get() == null) {
            cuCtxSetCurrent(context);
            bound.set(Boolean.TRUE);
        }
    }

    public String deviceName() {
        return deviceName;
    }

    /** e.g. "13.0" from the driver's 13000. */
    public String driverVersionString() {
        return driverVersion / 1000 + "." + (driverVersion % 1000) / 10;
    }

    /** "cuBLAS 13.0.2 (cublasGemmEx, ...)" or "project GEMM kernel (...; why cuBLAS is not used)". */
    public String gemmPath() {
        return cublas != null ? cublas.description()
                : "project GEMM kernel (mma.sync, fp32 accumulation; " + CublasGemm.lastFailure() + ")";
    }

    /** The compute capability as {major, minor} (e.g. {9, 0} for an H100 or H200). */
    public int[] computeCapability() {
        bind();
        return new int[] {attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)};
    }

    /** The PTX modules loaded (all of KernelCatalog's: opening fails on the first that does not load) and their kernels. */
    public String modulesLoaded() {
        java.util.Map<String, Integer> perModule = new java.util.TreeMap<>();
        for (KernelSpec k : KernelCatalog.all()) {
            perModule.merge(k.module() + ".ptx", 1, Integer::sum);
        }
        return modules.size() + " modules, " + functions.size() + " kernels: " + perModule;
    }

    /** {free, total} bytes of device memory now (cuMemGetInfo). */
    public long[] memoryInfo() {
        bind();
        long[] free = {0};
        long[] total = {0};
        cuMemGetInfo(free, total);
        return new long[] {free[0], total[0]};
    }

    // memory

    /** A CUdeviceptr for a raw address (JCuda adds a pointer's byte offset to its base, here 0). */
    private static CUdeviceptr dptr(long address) {
        return new CUdeviceptr().withByteOffset(address);
    }

    /** A CUstream that exposes its handle (a CUstream is a cudaStream_t), for cuBLAS. */
    private static final class Stream extends CUstream {
        long handle() {
            return getNativePointer();
        }
    }

    /** CUdeviceptr that exposes the address the driver wrote into it. */
    private static final class Allocated extends CUdeviceptr {
        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    private long alloc(long bytes) {
        bind();
        Allocated p = new Allocated();
        cuMemAlloc(p, Math.max(4, bytes));
        long a = p.address();
        cuMemsetD8Async(p, (byte) 0, Math.max(4, bytes), compute);
        synchronized (live) {
            live.add(a);
        }
        return a;
    }

    private void free(long address) {
        synchronized (live) {
            if (!live.remove(address)) {
                return;
            }
        }
        bind();
        cuMemFree(dptr(address));
    }

    @Override
    public CudaFloatBuf allocFloat(long n) {
        return new CudaFloatBuf(alloc(n * Float.BYTES), n, this::free);
    }

    @Override
    public CudaIntBuf allocInt(long n) {
        return new CudaIntBuf(alloc(n * Integer.BYTES), n, this::free);
    }

    @Override
    public void upload(float[] src, int srcOff, CudaFloatBuf dst, long dstOff, int n) {
        checkRange(dst.size(), dstOff, n);
        bind();
        cuMemcpyHtoD(dptr(dst.at(dstOff).address()),
                Pointer.to(src).withByteOffset((long) srcOff * Float.BYTES), (long) n * Float.BYTES);
    }

    @Override
    public void download(CudaFloatBuf src, long srcOff, float[] dst, int dstOff, int n) {
        checkRange(src.size(), srcOff, n);
        bind();
        cuMemcpyDtoH(Pointer.to(dst).withByteOffset((long) dstOff * Float.BYTES), dptr(src.at(srcOff).address()),
                (long) n * Float.BYTES);
    }

    @Override
    public void uploadInt(int[] src, int srcOff, CudaIntBuf dst, long dstOff, int n) {
        checkRange(dst.size(), dstOff, n);
        bind();
        cuMemcpyHtoD(dptr(dst.at(dstOff).address()), Pointer.to(src).withByteOffset((long) srcOff * Integer.BYTES),
                (long) n * Integer.BYTES);
    }

    @Override
    public void downloadInt(CudaIntBuf src, long srcOff, int[] dst, int dstOff, int n) {
        checkRange(src.size(), srcOff, n);
        bind();
        cuMemcpyDtoH(Pointer.to(dst).withByteOffset((long) dstOff * Integer.BYTES), dptr(src.at(srcOff).address()),
                (long) n * Integer.BYTES);
    }

    private static void checkRange(long size, long off, int n) {
        if (n < 0 || off < 0 || off + n > size) {
            throw new IndexOutOfBoundsException("copy of " + n + " elements at " + off + " in a buffer of " + size);
        }
    }

    @Override
    public void memsetZero(DevPtr dst, long bytes) {
        if (bytes > 0) {
            bind();
            cuMemsetD8Async(dptr(dst.address()), (byte) 0, bytes, compute);
        }
    }

    // launches

    @Override
    public void launch(KernelSpec kernel, long gridX, int gridY, int blockX, int sharedBytes, Object... args) {
        Object[] values = LaunchArgs.check(kernel, args);
        if (gridX < 1 || gridX > Integer.MAX_VALUE || gridY < 1 || gridY > 65535 || blockX < 1 || blockX > 1024) {
            throw new IllegalArgumentException(kernel + ": launch shape grid (" + gridX + ", " + gridY + ") block "
                    + blockX + " is outside the device's limits");
        }
        CUfunction f = functions.get(key(kernel));
        if (f == null) {
            throw new IllegalArgumentException(kernel + " is not in KernelCatalog.all(); add its class's KERNELS");
        }
        bind();
        if (sharedBytes > DEFAULT_SHARED_LIMIT && sharedRaised.add(key(kernel) + "@" + sharedBytes)) {
            cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes);
        }
        Pointer[] ps = new Pointer[values.length];
        for (int i = 0; i < values.length; i++) {
            Object v = values[i];
            ps[i] = switch (kernel.params().get(i)) {
                case PTR, I64 -> Pointer.to(new long[] {(Long) v});
                case I32 -> Pointer.to(new int[] {(Integer) v});
                case F32 -> Pointer.to(new float[] {(Float) v});
            };
        }
        cuLaunchKernel(f, (int) gridX, gridY, 1, blockX, 1, 1, sharedBytes, compute, Pointer.to(ps), null);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DevPtr a, int lda, DevPtr b,
                     int ldb, float beta, DevPtr c, int ldc) {
        CudaGemm.checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        bind();
        // k == 0 (C = beta C, A and B may be null) stays with the kernel, whose tests cover it.
        if (cublas != null && k > 0) {
            cublas.gemm(transA, transB, m, n, k, alpha, a.address(), lda, b.address(), ldb, beta, c.address(), ldc);
        } else {
            kernelGemm.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
    }

    @Override
    public int multiprocessors() {
        return multiprocessors;
    }

    @Override
    public int maxSharedBytesPerBlock() {
        return maxShared;
    }

    @Override
    public void synchronize() {
        bind();
        cuCtxSynchronize();
    }

    // input batches: pinned host memory, cuMemcpyHtoDAsync on the copy stream, two slots

    /**
     * Double-buffered input upload: slot i has a pinned host buffer, a device buffer and two events, uploaded[i]
     * (recorded on the copy stream after its copy) and consumed[i] (recorded on the compute stream once the step that
     * read it has been queued, i.e. at the next call). The copy into slot i waits (on the GPU) for consumed[i], the
     * compute stream waits (on the GPU) for uploaded[i]; the host waits only before overwriting a pinned buffer whose
     * previous copy has not finished.
     */
    public BatchUpload pinnedUpload(long floats) {
        return new PinnedUpload(floats);
    }

    private final class PinnedUpload implements BatchUpload {
        private final long floats;
        private final Pointer[] pinned = new Pointer[2];
        private final FloatBuffer[] views = new FloatBuffer[2];
        private final CudaFloatBuf[] dev = new CudaFloatBuf[2];
        private final CUevent[] uploaded = new CUevent[2];
        private final CUevent[] consumed = new CUevent[2];
        private final boolean[] used = new boolean[2];
        private int current = -1;

        PinnedUpload(long floats) {
            bind();
            this.floats = floats;
            for (int i = 0; i < 2; i++) {
                pinned[i] = new Pointer();
                cuMemAllocHost(pinned[i], floats * Float.BYTES);
                views[i] = pinned[i].getByteBuffer(0, floats * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
                dev[i] = allocFloat(floats);
                uploaded[i] = new CUevent();
                consumed[i] = new CUevent();
                cuEventCreate(uploaded[i], CUevent_flags.CU_EVENT_DISABLE_TIMING);
                cuEventCreate(consumed[i], CUevent_flags.CU_EVENT_DISABLE_TIMING);
            }
        }

        @Override
        public FloatBuf next(float[] host) {
            if (host.length > floats) {
                throw new IllegalArgumentException("batch of " + host.length + " floats for slots of " + floats);
            }
            bind();
            if (current >= 0) {
                // Everything queued so far on the compute stream includes the step on the current slot.
                cuEventRecord(consumed[current], compute);
            }
            int s = current < 0 ? 0 : 1 - current;
            if (used[s]) {
                cuEventSynchronize(uploaded[s]);
                cuStreamWaitEvent(copy, consumed[s], 0);
            }
            views[s].clear();
            views[s].put(host, 0, host.length);
            cuMemcpyHtoDAsync(dptr(dev[s].address()), pinned[s], (long) host.length * Float.BYTES, copy);
            cuEventRecord(uploaded[s], copy);
            cuStreamWaitEvent(compute, uploaded[s], 0);
            used[s] = true;
            current = s;
            return dev[s];
        }

        @Override
        public void close() {
            bind();
            cuCtxSynchronize();
            for (int i = 0; i < 2; i++) {
                cuEventDestroy(uploaded[i]);
                cuEventDestroy(consumed[i]);
                dev[i].close();
                cuMemFreeHost(pinned[i]);
            }
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        bind();
        cuCtxSynchronize();
        try {
            if (cublas != null) {
                cublas.close();
            }
        } finally {
            releaseAll();
        }
    }

    /** Frees what close() leaves: buffers, modules, streams and the context (also when cuBLAS failed to close). */
    private void releaseAll() {
        List<Long> left;
        synchronized (live) {
            left = List.copyOf(live);
            live.clear();
        }
        for (long a : left) {
            cuMemFree(dptr(a));
        }
        for (CUmodule m : modules) {
            cuModuleUnload(m);
        }
        cuStreamDestroy(compute);
        cuStreamDestroy(copy);
        cuDevicePrimaryCtxRelease(cuDevice);
    }
}
