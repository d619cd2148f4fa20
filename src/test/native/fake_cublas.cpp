// A stand-in for libcublas.so.13 with the entry points cublas_shim.cpp resolves, for CublasShimTest on machines
// without a GPU: "device pointers" are host addresses, and cublasGemmEx computes the column-major product on them
// in double, after cuBLAS's own argument checks. It returns CUBLAS_STATUS_INVALID_VALUE (7) where cuBLAS would,
// and for any data type, compute type or algorithm but the ones the shim must pass (CUDA_R_32F, TF32, default);
// CUBLAS_STATUS_NOT_INITIALIZED (1) when the stream set is not the test's token, 0x5eed.
// Built by the test with: g++ -shared -fPIC -o libcublas.so.13 fake_cublas.cpp
#include <cstdint>

namespace {
void* stream = nullptr;
int handleToken = 0;
}

extern "C" {

int cublasCreate_v2(void** handle) {
    *handle = &handleToken;
    return 0;
}

int cublasDestroy_v2(void* handle) {
    return handle == &handleToken ? 0 : 1;
}

int cublasSetStream_v2(void* handle, void* s) {
    if (handle != &handleToken) {
        return 1;
    }
    stream = s;
    return 0;
}

int cublasSetPointerMode_v2(void* handle, int mode) {
    return handle == &handleToken && mode == 0 ? 0 : 7;
}

int cublasGetVersion_v2(void* handle, int* version) {
    *version = 130002;
    return handle == &handleToken ? 0 : 1;
}

const char* cublasGetStatusName(int status) {
    switch (status) {
        case 0: return "CUBLAS_STATUS_SUCCESS";
        case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
        case 7: return "CUBLAS_STATUS_INVALID_VALUE";
        default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

const char* cublasGetStatusString(int status) {
    return status == 7 ? "an invalid numeric value was used as an argument" : "fake status";
}

int cublasGemmEx(void* handle, int transa, int transb, int m, int n, int k, const void* alpha, const void* A,
                 int Atype, int lda, const void* B, int Btype, int ldb, const void* beta, void* C, int Ctype, int ldc,
                 int computeType, int algo) {
    if (handle != &handleToken || stream != reinterpret_cast<void*>(0x5eed)) {
        return 1;
    }
    bool ta = transa == 1;
    bool tb = transb == 1;
    if ((transa != 0 && !ta) || (transb != 0 && !tb) || m < 0 || n < 0 || k < 0 || Atype != 0 || Btype != 0
            || Ctype != 0 || computeType != 77 || algo != -1) {
        return 7;
    }
    auto atLeast = [](int ld, int rows) { return ld >= (rows > 1 ? rows : 1); };
    if (!atLeast(lda, ta ? k : m) || !atLeast(ldb, tb ? n : k) || !atLeast(ldc, m)) {
        return 7;
    }
    const float* a = static_cast<const float*>(A);
    const float* b = static_cast<const float*>(B);
    float* c = static_cast<float*>(C);
    float al = *static_cast<const float*>(alpha);
    float be = *static_cast<const float*>(beta);
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int l = 0; l < k; l++) {
                double x = ta ? a[l + static_cast<int64_t>(i) * lda] : a[i + static_cast<int64_t>(l) * lda];
                double y = tb ? b[j + static_cast<int64_t>(l) * ldb] : b[l + static_cast<int64_t>(j) * ldb];
                s += x * y;
            }
            float* out = c + i + static_cast<int64_t>(j) * ldc;
            *out = static_cast<float>(al * s + (be == 0.0f ? 0.0 : be * static_cast<double>(*out)));
        }
    }
    return 0;
}

}  // extern "C"
