// Philox-4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"): the counter-based
// generator of model/Philox.java, bit for bit. Block `counter` of `stream` under `seed`:
//   counter words (c_lo, c_hi, s_lo, s_hi), key words (seed_lo, seed_hi), 10 rounds, the key bumped by
//   (0x9E3779B9, 0xBB67AE85) after each round.
//
// philox4x32_10 is __host__ __device__ so the same function also runs on the host:
// src/test/cuda/philox_table.cu includes this file and prints the table
// src/test/resources/dev/saetrain/device/cuda/philox_table.txt, which PhiloxTableTest pins against the Java
// generator and CudaPhiloxGpuTest against the philox_blocks kernel.
//
// philox_fill_normal reproduces Philox.fillNormal: block c gives elements 4c .. 4c + 3 by Box-Muller on
// outputs (0, 1) and (2, 3), in double: u = (bits + 1) 2^-32 in (0, 1], r = sqrt(-2 log u1), t = 2 pi u2,
// out = (float) (r cos t), (float) (r sin t). The uniforms and r's argument are exact (explicit _rn
// intrinsics, no contraction); CUDA's double log / sin / cos are within 1-2 ulp (double) of the exact value,
// like Java's Math.log / sin / cos, so after rounding to float the result equals Java's or differs by 1 float ulp.

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

__host__ __device__ inline void philox4x32_10(unsigned long long seed, unsigned long long stream,
                                              unsigned long long counter, unsigned int out[4]) {
    unsigned int c0 = (unsigned int)counter;
    unsigned int c1 = (unsigned int)(counter >> 32);
    unsigned int c2 = (unsigned int)stream;
    unsigned int c3 = (unsigned int)(stream >> 32);
    unsigned int k0 = (unsigned int)seed;
    unsigned int k1 = (unsigned int)(seed >> 32);
#pragma unroll
    for (int r = 0; r < 10; r++) {
        unsigned long long p0 = (unsigned long long)PHILOX_M0 * c0;
        unsigned long long p1 = (unsigned long long)PHILOX_M1 * c2;
        unsigned int n0 = (unsigned int)(p1 >> 32) ^ c1 ^ k0;
        unsigned int n1 = (unsigned int)p1;
        unsigned int n2 = (unsigned int)(p0 >> 32) ^ c3 ^ k1;
        unsigned int n3 = (unsigned int)p0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

// (bits + 1) 2^-32 in double, exactly (Philox.uniformOpen0).
__device__ __forceinline__ double philox_uniform_open0(unsigned int bits) {
    return __dmul_rn(__dadd_rn((double)bits, 1.0), 0x1p-32);
}

// out[4 i .. 4 i + 4) = the four words of block counter0 + i, for i in [0, count).
extern "C" __global__ void philox_blocks(unsigned int* __restrict__ out, long long seed, long long stream,
                                         long long counter0, long long count) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        unsigned int w[4];
        philox4x32_10((unsigned long long)seed, (unsigned long long)stream, (unsigned long long)(counter0 + i), w);
        out[4 * i] = w[0];
        out[4 * i + 1] = w[1];
        out[4 * i + 2] = w[2];
        out[4 * i + 3] = w[3];
    }
}

// out[0 .. n) = Philox.fillNormal(seed, stream, out): one thread per block of 4 elements.
extern "C" __global__ void philox_fill_normal(float* __restrict__ out, long long n, long long seed, long long stream) {
    long long blocks = (n + 3) / 4;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < blocks; c += stride) {
        unsigned int w[4];
        philox4x32_10((unsigned long long)seed, (unsigned long long)stream, (unsigned long long)c, w);
#pragma unroll
        for (int pair = 0; pair < 2; pair++) {
            double u1 = philox_uniform_open0(w[2 * pair]);
            double u2 = philox_uniform_open0(w[2 * pair + 1]);
            double r = sqrt(__dmul_rn(-2.0, log(u1)));
            double t = __dmul_rn(2.0 * 3.141592653589793, u2);  // 2 Math.PI u2; 2 pi is exact in double
            long long i = 4 * c + 2 * pair;
            if (i < n) {
                out[i] = __double2float_rn(__dmul_rn(r, cos(t)));
            }
            if (i + 1 < n) {
                out[i + 1] = __double2float_rn(__dmul_rn(r, sin(t)));
            }
        }
    }
}
