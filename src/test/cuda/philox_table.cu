// Prints src/test/resources/dev/saetrain/device/cuda/philox_table.txt from philox.cu's philox4x32_10, run on the
// host. Regenerate (needs nvcc; the test that reads the table does not):
//   cd src/test/cuda && nvcc -std=c++17 -o /tmp/philox_table philox_table.cu && /tmp/philox_table \
//     > ../resources/dev/saetrain/device/cuda/philox_table.txt
#include <cstdio>
#include "../../main/cuda/philox.cu"

int main() {
    // The first three rows are the Random123 known-answer inputs (kat_vectors: philox4x32 10 rounds), written
    // as (seed = key1:key0, stream = ctr3:ctr2, counter = ctr1:ctr0); the rest are seeds, streams and counters
    // the training code uses, with high words set so that all 64 bits of each input are exercised.
    const unsigned long long rows[][3] = {
        {0x0ull, 0x0ull, 0x0ull},
        {0xffffffffffffffffull, 0xffffffffffffffffull, 0xffffffffffffffffull},
        {0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull},
        {0ull, 0ull, 1ull},
        {1ull, 0ull, 0ull},
        {42ull, 0ull, 0ull},
        {42ull, 0ull, 1ull},
        {42ull, 1ull, 0ull},
        {42ull, 3ull, 12345ull},
        {20260101ull, 7ull, 0xfffffffeull},
        {20260101ull, 7ull, 0x100000000ull},
        {0x123456789abcdefull, 0xfedcba9876543210ull, 0x0f0f0f0f0f0f0f0full},
        {0x8000000000000000ull, 0x80000000ull, 0x7fffffffffffffffull},
    };
    std::printf("# seed stream counter -> w0 w1 w2 w3 (hex; Philox-4x32-10 block, see src/test/cuda/philox_table.cu)\n");
    for (const auto& r : rows) {
        unsigned int w[4];
        philox4x32_10(r[0], r[1], r[2], w);
        std::printf("%016llx %016llx %016llx %08x %08x %08x %08x\n", r[0], r[1], r[2], w[0], w[1], w[2], w[3]);
    }
    return 0;
}
