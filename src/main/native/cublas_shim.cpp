// JNI bridge from dev.saetrain.device.cuda.CublasShim to cuBLAS, loaded at run time with dlopen.
//
// No CUDA header is needed to build it: the few cuBLAS entry points used are declared below with the types and
// enum values that cuBLAS documents (cublas_api.h, library_types.h; the same in CUDA 12 and 13). The library is
// opened by Java's choice of path (libcublas.so.13, then .so.12, see CublasShim.java); every entry point is resolved
// with dlsym before the library counts as loaded, so a call never goes through a null pointer. Handles, streams and
// device pointers travel as jlong. Every cuBLAS call returns its status to Java, which names the call on failure.
#include <dlfcn.h>
#include <jni.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

// dlopen and friends moved from libdl into libc in glibc 2.34, under a new symbol version; binding to the old
// one (which glibc 2.34+ still exports) lets a library built on a new glibc load on an older one (with libdl.so.2).
__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlclose,dlclose@GLIBC_2.2.5");
__asm__(".symver dlerror,dlerror@GLIBC_2.2.5");
__asm__(".symver dladdr,dladdr@GLIBC_2.2.5");

namespace {

// cuBLAS types: an opaque handle, a CUDA stream (cudaStream_t and the driver's CUstream are the same pointer).
using cublasHandle_t = void*;
using cudaStream_t = void*;
using cublasStatus_t = int;

// Enum values as documented (cublas_api.h, library_types.h).
constexpr int CUDA_R_32F = 0;                     // cudaDataType_t: fp32
constexpr int CUBLAS_POINTER_MODE_HOST = 0;       // cublasPointerMode_t: alpha, beta are host pointers
constexpr int CUBLAS_GEMM_DEFAULT = -1;           // cublasGemmAlgo_t: cuBLAS's heuristics choose

using CreateFn = cublasStatus_t (*)(cublasHandle_t*);
using DestroyFn = cublasStatus_t (*)(cublasHandle_t);
using SetStreamFn = cublasStatus_t (*)(cublasHandle_t, cudaStream_t);
using SetPointerModeFn = cublasStatus_t (*)(cublasHandle_t, int);
using GetVersionFn = cublasStatus_t (*)(cublasHandle_t, int*);
using GetStatusStringFn = const char* (*)(cublasStatus_t);
using GetStatusNameFn = const char* (*)(cublasStatus_t);
// cublasGemmEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc,
//              computeType, algo)
using GemmExFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int, const void*, const void*, int, int,
                                    const void*, int, int, const void*, void*, int, int, int, int);

struct Cublas {
    void* lib = nullptr;
    CreateFn create = nullptr;
    DestroyFn destroy = nullptr;
    SetStreamFn setStream = nullptr;
    SetPointerModeFn setPointerMode = nullptr;
    GetVersionFn getVersion = nullptr;
    GetStatusStringFn getStatusString = nullptr;
    GetStatusNameFn getStatusName = nullptr;
    GemmExFn gemmEx = nullptr;
};

// Written once, by the open() that succeeds; read-only after. Java calls open() under a lock and the other natives
// only after an open() returned null (CublasShim), which orders the write before every read.
Cublas cublas;

bool loaded() {
    return cublas.lib != nullptr;
}

// "prefix: " + the last dlerror() text (or `fallback` when there is none), as a Java string.
jstring dlError(JNIEnv* env, const char* prefix, const char* fallback) {
    const char* e = dlerror();
    char text[2048];
    std::snprintf(text, sizeof text, "%s%s%s", prefix, prefix[0] != '\0' ? ": " : "", e != nullptr ? e : fallback);
    return env->NewStringUTF(text);
}

template <typename Fn>
bool resolve(void* lib, const char* name, Fn* out, const char** missing) {
    void* p = dlsym(lib, name);
    if (p == nullptr) {
        *missing = name;
        return false;
    }
    *out = reinterpret_cast<Fn>(p);
    return true;
}

// --- natives of CublasShim ---

// Opens the library at `path` (a file name searched as dlopen does, or a path) and resolves every entry point.
// Returns null when cuBLAS is now loaded (also when an earlier call loaded it), else the dlerror() text.
jstring JNICALL open(JNIEnv* env, jclass, jstring path) {
    if (loaded()) {
        return nullptr;
    }
    const char* name = env->GetStringUTFChars(path, nullptr);
    if (name == nullptr) {
        return nullptr;  // OutOfMemoryError pending
    }
    dlerror();
    void* lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
        jstring error = dlError(env, "", "dlopen failed without a message");
        env->ReleaseStringUTFChars(path, name);
        return error;
    }
    Cublas c;
    c.lib = lib;
    const char* missing = nullptr;
    dlerror();
    bool ok = resolve(lib, "cublasCreate_v2", &c.create, &missing)
            && resolve(lib, "cublasDestroy_v2", &c.destroy, &missing)
            && resolve(lib, "cublasSetStream_v2", &c.setStream, &missing)
            && resolve(lib, "cublasSetPointerMode_v2", &c.setPointerMode, &missing)
            && resolve(lib, "cublasGetVersion_v2", &c.getVersion, &missing)
            && resolve(lib, "cublasGetStatusString", &c.getStatusString, &missing)
            && resolve(lib, "cublasGetStatusName", &c.getStatusName, &missing)
            && resolve(lib, "cublasGemmEx", &c.gemmEx, &missing);
    if (!ok) {
        // dlerror() here names the library and the symbol, e.g. "/usr/lib/libm.so.6: undefined symbol: cublasCreate_v2".
        jstring error = dlError(env, "", missing);
        dlclose(lib);
        env->ReleaseStringUTFChars(path, name);
        return error;
    }
    env->ReleaseStringUTFChars(path, name);
    cublas = c;
    return nullptr;
}

// The file the loaded library came from (dladdr of cublasCreate_v2), or null when none is loaded.
jstring JNICALL libraryFile(JNIEnv* env, jclass) {
    if (!loaded()) {
        return nullptr;
    }
    Dl_info info;
    std::memset(&info, 0, sizeof info);
    if (dladdr(reinterpret_cast<void*>(cublas.create), &info) == 0 || info.dli_fname == nullptr) {
        return env->NewStringUTF("(file unknown)");
    }
    return env->NewStringUTF(info.dli_fname);
}

// cublasGetStatusName and cublasGetStatusString of a status, "NAME (text)"; null when no library is loaded.
jstring JNICALL statusText(JNIEnv* env, jclass, jint status) {
    if (!loaded()) {
        return nullptr;
    }
    const char* name = cublas.getStatusName(status);
    const char* text = cublas.getStatusString(status);
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s (%s)", name != nullptr ? name : "unknown status",
                  text != nullptr ? text : "no description");
    return env->NewStringUTF(buf);
}

// The natives below need a loaded library; Java calls them only after open() returned null. A call without one
// returns -1, which is no cuBLAS status (they are >= 0), so Java reports it as a failed call rather than crashing.

jint JNICALL create(JNIEnv* env, jclass, jlongArray handleOut) {
    if (!loaded()) {
        return -1;
    }
    cublasHandle_t h = nullptr;
    cublasStatus_t s = cublas.create(&h);
    jlong v = static_cast<jlong>(reinterpret_cast<std::intptr_t>(h));
    env->SetLongArrayRegion(handleOut, 0, 1, &v);
    return s;
}

jint JNICALL destroy(JNIEnv*, jclass, jlong handle) {
    if (!loaded()) {
        return -1;
    }
    return cublas.destroy(reinterpret_cast<cublasHandle_t>(static_cast<std::intptr_t>(handle)));
}

jint JNICALL setStream(JNIEnv*, jclass, jlong handle, jlong stream) {
    if (!loaded()) {
        return -1;
    }
    return cublas.setStream(reinterpret_cast<cublasHandle_t>(static_cast<std::intptr_t>(handle)),
                            reinterpret_cast<cudaStream_t>(static_cast<std::intptr_t>(stream)));
}

jint JNICALL setPointerModeHost(JNIEnv*, jclass, jlong handle) {
    if (!loaded()) {
        return -1;
    }
    return cublas.setPointerMode(reinterpret_cast<cublasHandle_t>(static_cast<std::intptr_t>(handle)),
                                 CUBLAS_POINTER_MODE_HOST);
}

jint JNICALL getVersion(JNIEnv* env, jclass, jlong handle, jintArray versionOut) {
    if (!loaded()) {
        return -1;
    }
    int v = 0;
    cublasStatus_t s = cublas.getVersion(reinterpret_cast<cublasHandle_t>(static_cast<std::intptr_t>(handle)), &v);
    jint jv = v;
    env->SetIntArrayRegion(versionOut, 0, 1, &jv);
    return s;
}

// Column-major C = alpha op(A) op(B) + beta C, fp32 A, B, C, host alpha and beta, cuBLAS's default algorithm.
jint JNICALL gemmEx(JNIEnv*, jclass, jlong handle, jint transa, jint transb, jint m, jint n, jint k, jfloat alpha,
                    jlong a, jint lda, jlong b, jint ldb, jfloat beta, jlong c, jint ldc, jint computeType) {
    if (!loaded()) {
        return -1;
    }
    float al = alpha;
    float be = beta;
    return cublas.gemmEx(reinterpret_cast<cublasHandle_t>(static_cast<std::intptr_t>(handle)), transa, transb, m, n,
                         k, &al, reinterpret_cast<const void*>(static_cast<std::intptr_t>(a)), CUDA_R_32F, lda,
                         reinterpret_cast<const void*>(static_cast<std::intptr_t>(b)), CUDA_R_32F, ldb, &be,
                         reinterpret_cast<void*>(static_cast<std::intptr_t>(c)), CUDA_R_32F, ldc, computeType,
                         CUBLAS_GEMM_DEFAULT);
}

// Registered explicitly, so a Java declaration and this table that disagree fail System.load, not a later call.
JNINativeMethod methods[] = {
    {const_cast<char*>("open"), const_cast<char*>("(Ljava/lang/String;)Ljava/lang/String;"),
     reinterpret_cast<void*>(open)},
    {const_cast<char*>("libraryFile"), const_cast<char*>("()Ljava/lang/String;"), reinterpret_cast<void*>(libraryFile)},
    {const_cast<char*>("statusText"), const_cast<char*>("(I)Ljava/lang/String;"), reinterpret_cast<void*>(statusText)},
    {const_cast<char*>("create"), const_cast<char*>("([J)I"), reinterpret_cast<void*>(create)},
    {const_cast<char*>("destroy"), const_cast<char*>("(J)I"), reinterpret_cast<void*>(destroy)},
    {const_cast<char*>("setStream"), const_cast<char*>("(JJ)I"), reinterpret_cast<void*>(setStream)},
    {const_cast<char*>("setPointerModeHost"), const_cast<char*>("(J)I"), reinterpret_cast<void*>(setPointerModeHost)},
    {const_cast<char*>("getVersion"), const_cast<char*>("(J[I)I"), reinterpret_cast<void*>(getVersion)},
    {const_cast<char*>("gemmEx"), const_cast<char*>("(JIIIIIFJIJIFJII)I"), reinterpret_cast<void*>(gemmEx)},
};

}  // namespace

extern "C" JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM* vm, void*) {
    JNIEnv* env = nullptr;
    if (vm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_1_8) != JNI_OK) {
        return JNI_ERR;
    }
    jclass cls = env->FindClass("dev/saetrain/device/cuda/CublasShim");
    if (cls == nullptr) {
        return JNI_ERR;
    }
    if (env->RegisterNatives(cls, methods, sizeof methods / sizeof methods[0]) != 0) {
        return JNI_ERR;
    }
    return JNI_VERSION_1_8;
}
