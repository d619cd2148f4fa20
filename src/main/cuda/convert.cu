// Input rows in their stored dtype to fp32 times a scale factor, as the CPU reader (data/RowConversion.java)
// does it, bit for bit on every finite and infinite value:
//   F32:  out = raw * scale, or raw copied bit for bit when scale == 1
//   F16:  out = Half.f16ToFloat(raw) * scale (exact widening, subnormals included, then one fp32 multiply)
//   BF16: out = float(raw << 16) * scale
// The multiply is __fmul_rn (round to nearest, never contracted, denormals kept: no --use_fast_math, no ftz).
// NaN stays NaN; its payload is not kept (the GPU returns the canonical NaN from arithmetic).
//
// raw and out are element arrays; count may exceed 2^31. One thread per element, grid-stride loop.

static __device__ __forceinline__ float f16_bits_to_float(unsigned int h) {
    unsigned int sign = (h & 0x8000u) << 16;
    unsigned int exp = (h >> 10) & 0x1fu;
    unsigned int mant = h & 0x3ffu;
    if (exp == 0x1fu) {
        return __uint_as_float(sign | 0x7f800000u | (mant << 13));
    }
    if (exp == 0) {
        float sub = __fmul_rn((float)mant, 0x1p-24f);  // exact: mant < 2^10
        return sign == 0 ? sub : -sub;
    }
    return __uint_as_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

extern "C" __global__ void convert_rows_f32(const float* __restrict__ raw, float* __restrict__ out, long long count,
                                            float scale) {
    long long stride = (long long)gridDim.x * blockDim.x;
    if (scale == 1.0f) {
        for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
            out[i] = raw[i];
        }
    } else {
        for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
            out[i] = __fmul_rn(raw[i], scale);
        }
    }
}

extern "C" __global__ void convert_rows_f16(const unsigned short* __restrict__ raw, float* __restrict__ out,
                                            long long count, float scale) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        out[i] = __fmul_rn(f16_bits_to_float(raw[i]), scale);
    }
}

extern "C" __global__ void convert_rows_bf16(const unsigned short* __restrict__ raw, float* __restrict__ out,
                                             long long count, float scale) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        out[i] = __fmul_rn(__uint_as_float((unsigned int)raw[i] << 16), scale);
    }
}
