// Runs the kernels of activation.cu and sparse.cu under cuda_emu.h, orchestrated as CudaActivationOps launches
// them, against plain reference loops (the formulas of Device's Javadoc). Build and run:
//   g++ -std=c++20 -O1 -ffp-contract=off -pthread -o /tmp/emu_check src/test/cuda-emu/emu_check.cpp && /tmp/emu_check
// Prints one line per check and exits 1 on the first mismatch.
#include "cuda_emu.h"
#include "check_report.h"
#include "../../main/cuda/activation.cu"
#include "../../main/cuda/sparse.cu"

#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>

static const unsigned T = 256;
static const unsigned SCAN = 1024;
static std::mt19937 rng(42);
template <class A, class B> static void same(const std::string& what, const A& a, const B& b) {
    if (a.size() != b.size()) fail(what + ": sizes " + std::to_string(a.size()) + " vs " + std::to_string(b.size()));
    for (size_t i = 0; i < a.size(); i++) {
        if (a[i] != b[i]) fail(what + ": [" + std::to_string(i) + "] " + std::to_string(a[i]) + " vs " + std::to_string(b[i]));
    }
    ok(what);
}
template <class A, class B> static void close(const std::string& what, const A& want, const B& got, double atol = 2e-5,
                                              double rtol = 1e-4) {
    if (want.size() != got.size()) fail(what + ": sizes");
    for (size_t i = 0; i < want.size(); i++) {
        double d = std::fabs((double)want[i] - (double)got[i]);
        if (!(d <= atol + rtol * std::fabs((double)want[i])))
            fail(what + ": [" + std::to_string(i) + "] want " + std::to_string(want[i]) + " got " + std::to_string(got[i]));
    }
    ok(what);
}
static std::vector<float> gauss(size_t n, double sd) {
    std::normal_distribution<double> g(0, sd);
    std::vector<float> v(n);
    for (auto& x : v) x = (float)g(rng);
    return v;
}
static long long ll(const std::vector<long long>& v) { return v[0]; }

struct Csr {
    std::vector<int> rowPtr, idx;
    std::vector<float> val, grad;
};

// ------------------------------------------------------------------ selection
// CudaActivationOps.topkSharedWords: the dynamic shared words topk_select needs for a row of m keys.
static size_t topkSharedWords(int m) { return (size_t)((m + 6) & ~3); }

// topk_select against the reference's pick (stable sort by value, Double.compare order: -0 < +0; the first k, so
// the lowest-index ties), in increasing latent order. ties: values from a few levels (with -0 and +0), so rows hold
// many ties at the k-th value; offset: the batch starts offset floats past a 16-byte boundary (rows misaligned for
// float4); shared: keys in dynamic shared memory, else the global-memory path of rows too wide for it.
static void checkTopk(int B, int M, int K, bool dead, bool ties, int offset, bool shared) {
    std::vector<float> store(B * M + 4);
    float* pre = store.data() + offset;
    const float levels[] = {-1.f, -0.f, 0.f, 0.5f, 0.5f, 1.f};
    for (int b = 0; b < B; b++) {
        std::vector<int> perm(M);
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        for (int i = 0; i < M; i++) {
            pre[b * M + i] = ties ? levels[rng() % 6] : (perm[i] - M / 2) / 64.f + (b % 3 == 1 ? -M / 64.f : 0.f);
        }
    }
    std::vector<int> last(M);
    for (auto& x : last) x = rng() % 10;
    std::vector<int> rowPtr(B + 1, -5), idx(B * K, -1);
    std::vector<float> val(B * K, -1);
    emu_launch_shared(topk_select, B, T, shared ? 4 * topkSharedWords(M) : 0, pre, B, M, K,
                      dead ? last.data() : (int*)nullptr, 4, shared ? 1 : 0, rowPtr.data(), idx.data(), val.data());
    std::string name = "topk B=" + std::to_string(B) + " M=" + std::to_string(M) + " K=" + std::to_string(K)
                       + (dead ? " dead" : "") + (ties ? " ties" : "") + " offset=" + std::to_string(offset)
                       + (shared ? " shared" : " global");
    for (int b = 0; b <= B; b++) if (rowPtr[b] != b * K) fail(name + ": rowPtr");
    for (int b = 0; b < B; b++) {
        std::vector<int> cand;
        for (int i = 0; i < M; i++) if (!dead || last[i] <= 4) cand.push_back(i);
        if ((int)cand.size() < K) fail(name + ": the harness drew fewer candidates than k");
        std::stable_sort(cand.begin(), cand.end(),
                         [&](int x, int y) { return order_key(pre[b * M + x]) > order_key(pre[b * M + y]); });
        std::vector<int> want(cand.begin(), cand.begin() + K);
        std::sort(want.begin(), want.end());
        for (int q = 0; q < K; q++) {
            int e = b * K + q;
            if (idx[e] != want[q]) {
                fail(name + ": row " + std::to_string(b) + " slot " + std::to_string(q) + " holds latent "
                     + std::to_string(idx[e]) + ", want " + std::to_string(want[q]));
            }
            float w = std::max(0.f, pre[b * M + want[q]]);
            if (emu_bits(val[e]) != emu_bits(w)) fail(name + ": value of row " + std::to_string(b));
        }
    }
    std::vector<unsigned long long> cnt(1, 0);
    emu_launch(topk_count_candidates, 2, T, last.data(), M, 4, cnt.data());
    long long c = 0;
    for (int i = 0; i < M; i++) c += last[i] <= 4;
    if ((long long)cnt[0] != c) fail("topk_count_candidates");
    ok(name);
}

// Java's compact(): count, scan, fill.
static long long compact(const std::vector<float>& pre, const float* th, int B, int M, Csr& out) {
    std::vector<int> counts(B);
    std::vector<long long> total(1);
    out.rowPtr.assign(B + 1, -3);
    emu_launch(compact_count, B, T, pre.data(), th, B, M, counts.data());
    emu_launch(row_ptr_scan, 1, SCAN, counts.data(), B, out.rowPtr.data(), total.data());
    out.idx.assign(total[0], -1);
    out.val.assign(total[0], -1);
    emu_launch(compact_fill, B, T, pre.data(), th, B, M, out.rowPtr.data(), out.idx.data(), out.val.data());
    return total[0];
}

static void refCompact(const std::vector<float>& pre, const float* th, int B, int M, Csr& out) {
    out.rowPtr.assign(1, 0);
    out.idx.clear();
    out.val.clear();
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < M; i++) {
            float v = pre[b * M + i];
            if (v > (th ? th[i] : 0.f)) {
                out.idx.push_back(i);
                out.val.push_back(v);
            }
        }
        out.rowPtr.push_back(out.idx.size());
    }
}

static void checkCompaction(int B, int M) {
    auto pre = gauss(B * M, 1.0);
    for (int b = 0; b < B; b++) for (int i = 0; i < M; i++) pre[b * M + i] += (b % 4 == 1 ? -10.f : -1.f);
    Csr got, want;
    long long n = compact(pre, nullptr, B, M, got);
    refCompact(pre, nullptr, B, M, want);
    if (n != (long long)want.idx.size()) fail("relu total");
    same("reluSparse rowPtr", want.rowPtr, got.rowPtr);
    same("reluSparse idx (increasing per row)", want.idx, got.idx);
    same("reluSparse val", want.val, got.val);
    auto th = gauss(M, 0.3);
    for (auto& x : th) x = std::fabs(x) + 0.01f;
    compact(pre, th.data(), B, M, got);
    refCompact(pre, th.data(), B, M, want);
    same("jumpReluSparse rowPtr", want.rowPtr, got.rowPtr);
    same("jumpReluSparse idx", want.idx, got.idx);
    // gated on the same pre
    auto bGate = gauss(M, 0.5), bMag = gauss(M, 0.5), ms = gauss(M, 0.5);
    for (auto& x : ms) x = std::exp(x);
    Csr g;
    long long open = compact(pre, nullptr, B, M, g);
    std::vector<long long> total{open};
    std::vector<float> gateVal(open), sums(M);
    std::vector<int> fired(1, 0);
    emu_launch(gated_fill, 3, T, g.idx.data(), g.val.data(), total.data(), bGate.data(), bMag.data(), ms.data(),
               gateVal.data(), fired.data());
    emu_launch(gate_sums, (M + T - 1) / T, T, pre.data(), B, M, sums.data());
    std::vector<float> wantF, wantGate;
    std::vector<double> wantSums(M);
    int on = 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < M; i++) {
            float v = pre[b * M + i];
            if (v > 0) {
                float m = (float)std::max(0.0, (double)ms[i] * ((double)v - bGate[i]) + bMag[i]);
                wantF.push_back(m);
                wantGate.push_back(v);
                wantSums[i] += v;
                on += m > 0;
            }
        }
    same("gatedSparse f", wantF, g.val);
    same("gatedSparse gateVal", wantGate, gateVal);
    std::vector<float> ws(M);
    for (int i = 0; i < M; i++) ws[i] = (float)wantSums[i];
    same("gatedSparse gateSums (exact)", ws, sums);
    if (fired[0] != on) fail("gatedSparse fired");
    ok("gatedSparse fired");
}

static void checkBatchTopk(int B, int M, long long kTotal, bool ties) {
    std::vector<float> pre(B * M);
    if (ties) {
        for (auto& x : pre) x = ((int)(rng() % 9) - 4) / 4.f;
    } else {
        std::vector<int> perm(B * M);
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        for (int q = 0; q < B * M; q++) pre[q] = (perm[q] - 0.6f * B * M) / 256.f;
    }
    long long n = (long long)B * M;
    std::vector<long long> state(4, -7);
    std::vector<unsigned long long> hist(2048);
    std::vector<float> minKept(1, -1);
    for (int pass = 0; pass < 3; pass++) {
        std::fill(hist.begin(), hist.end(), 0);
        emu_launch(batch_topk_hist, 3, T, pre.data(), n, pass, state.data(), hist.data());
        emu_launch(batch_topk_select, 1, 32, hist.data(), pass, kTotal, state.data(), minKept.data());
    }
    std::vector<int> gt(B), eq(B), rowPtr(B + 1, -2);
    emu_launch(batch_topk_row_counts, B, T, pre.data(), B, M, state.data(), gt.data(), eq.data());
    emu_launch(batch_topk_row_ptr, 1, SCAN, gt.data(), eq.data(), B, state.data(), rowPtr.data());
    long long r = state[0];
    std::vector<int> idx(std::max(1LL, r), -1);
    std::vector<float> val(std::max(1LL, r), -1);
    emu_launch(batch_topk_fill, B, T, pre.data(), B, M, state.data(), rowPtr.data(), eq.data(), idx.data(), val.data());
    // reference: stable sort of the positive entries, row-major tie rule
    std::vector<int> pos;
    for (int q = 0; q < B * M; q++) if (pre[q] > 0) pos.push_back(q);
    std::stable_sort(pos.begin(), pos.end(), [&](int a, int b) { return pre[a] > pre[b]; });
    long long wr = std::min<long long>(kTotal, pos.size());
    std::vector<char> kept(B * M, 0);
    float wmin = 0;
    for (long long q = 0; q < wr; q++) {
        kept[pos[q]] = 1;
        wmin = pre[pos[q]];
    }
    Csr want;
    want.rowPtr.assign(1, 0);
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < M; i++)
            if (kept[b * M + i]) {
                want.idx.push_back(i);
                want.val.push_back(pre[b * M + i]);
            }
        want.rowPtr.push_back(want.idx.size());
    }
    std::string tag = " B=" + std::to_string(B) + " kTotal=" + std::to_string(kTotal) + (ties ? " ties" : "");
    if (r != wr) fail("batchTopk r" + tag + ": " + std::to_string(r) + " vs " + std::to_string(wr));
    if (minKept[0] != wmin) fail("batchTopk minKept" + tag);
    same("batchTopk rowPtr" + tag, want.rowPtr, rowPtr);
    idx.resize(r);
    val.resize(r);
    same("batchTopk idx" + tag, want.idx, idx);
    same("batchTopk val" + tag, want.val, val);
}

// The batchtopk selection of pre [B, M] by the reference rule (stable sort of the positive entries, row-major ties):
// the kept entries as CSR, r and the smallest kept value.
static Csr refBatchTopk(const std::vector<float>& pre, int B, int M, long long kTotal, long long* r, float* minKept) {
    std::vector<int> pos;
    for (int q = 0; q < B * M; q++) if (pre[q] > 0) pos.push_back(q);
    std::stable_sort(pos.begin(), pos.end(), [&](int a, int b) { return pre[a] > pre[b]; });
    *r = std::min<long long>(kTotal, pos.size());
    std::vector<char> kept(B * M, 0);
    *minKept = 0;
    for (long long q = 0; q < *r; q++) {
        kept[pos[q]] = 1;
        *minKept = pre[pos[q]];
    }
    Csr want;
    want.rowPtr.assign(1, 0);
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < M; i++)
            if (kept[b * M + i]) {
                want.idx.push_back(i);
                want.val.push_back(pre[b * M + i]);
            }
        want.rowPtr.push_back(want.idx.size());
    }
    return want;
}

// batchTopkMerge as CudaActivationOps launches it: each block of `rows` rows selected by the batch_topk kernels
// (kTotal, at most the block's entries), then the radix passes over every block's candidates, the merge row counts,
// the row pointers and the merge fill; the result must be the whole batch's reference selection exactly.
static void checkBatchTopkMerge(int B, int M, long long kTotal, int rows, bool ties) {
    std::vector<float> pre(B * M);
    for (auto& x : pre) x = ties ? ((int)(rng() % 9) - 4) / 4.f : (float)((int)(rng() % 100000) - 60000) / 256.f;
    std::vector<long long> state(4, -7);
    std::vector<unsigned long long> hist(2048);
    std::vector<float> minKept(1, -1);
    std::vector<Csr> cand;
    std::vector<int> first;
    for (int f = 0; f < B; f += rows) {
        int n = std::min(rows, B - f);
        long long keep = std::min<long long>(kTotal, (long long)n * M);
        const float* block = pre.data() + (size_t)f * M;
        for (int pass = 0; pass < 3; pass++) {
            std::fill(hist.begin(), hist.end(), 0);
            emu_launch(batch_topk_hist, 3, T, block, (long long)n * M, pass, state.data(), hist.data());
            emu_launch(batch_topk_select, 1, 32, hist.data(), pass, keep, state.data(), minKept.data());
        }
        Csr c;
        std::vector<int> gt(n), eq(n);
        c.rowPtr.assign(n + 1, -2);
        emu_launch(batch_topk_row_counts, n, T, block, n, M, state.data(), gt.data(), eq.data());
        emu_launch(batch_topk_row_ptr, 1, SCAN, gt.data(), eq.data(), n, state.data(), c.rowPtr.data());
        c.idx.assign(std::max(1LL, keep), -1);
        c.val.assign(std::max(1LL, keep), -1);
        emu_launch(batch_topk_fill, n, T, block, n, M, state.data(), c.rowPtr.data(), eq.data(), c.idx.data(),
                   c.val.data());
        cand.push_back(c);
        first.push_back(f);
    }
    for (int pass = 0; pass < 3; pass++) {
        std::fill(hist.begin(), hist.end(), 0);
        for (auto& c : cand) {
            long long n = c.rowPtr.back();
            if (n > 0) emu_launch(batch_topk_hist, 3, T, c.val.data(), n, pass, state.data(), hist.data());
        }
        emu_launch(batch_topk_select, 1, 32, hist.data(), pass, kTotal, state.data(), minKept.data());
    }
    std::vector<int> gt(B, -3), eq(B, -3), rowPtr(B + 1, -2);
    for (size_t j = 0; j < cand.size(); j++) {
        int n = (int)cand[j].rowPtr.size() - 1;
        emu_launch(batch_topk_merge_row_counts, n, T, cand[j].rowPtr.data(), cand[j].val.data(), n, first[j],
                   state.data(), gt.data(), eq.data());
    }
    emu_launch(batch_topk_row_ptr, 1, SCAN, gt.data(), eq.data(), B, state.data(), rowPtr.data());
    long long r = state[0];
    std::vector<int> idx(std::max(1LL, r), -1);
    std::vector<float> val(std::max(1LL, r), -1);
    for (size_t j = 0; j < cand.size(); j++) {
        int n = (int)cand[j].rowPtr.size() - 1;
        emu_launch(batch_topk_merge_fill, n, T, cand[j].rowPtr.data(), cand[j].idx.data(), cand[j].val.data(), n,
                   first[j], state.data(), rowPtr.data(), eq.data(), idx.data(), val.data());
    }
    long long wr;
    float wmin;
    Csr want = refBatchTopk(pre, B, M, kTotal, &wr, &wmin);
    std::string tag = " B=" + std::to_string(B) + " kTotal=" + std::to_string(kTotal) + " rows=" + std::to_string(rows)
                      + (ties ? " ties" : "");
    if (r != wr) fail("batchTopkMerge r" + tag + ": " + std::to_string(r) + " vs " + std::to_string(wr));
    if (minKept[0] != wmin) fail("batchTopkMerge minKept" + tag);
    same("batchTopkMerge rowPtr" + tag, want.rowPtr, rowPtr);
    idx.resize(r);
    val.resize(r);
    same("batchTopkMerge idx" + tag, want.idx, idx);
    same("batchTopkMerge val" + tag, want.val, val);
}

static void checkDenseFires(int B, int M) {
    auto f = gauss(B * M, 1.0);
    std::vector<int> counts(M, 3), last(M, 1);
    std::vector<float> sums(M, 99);
    std::vector<unsigned long long> positives(1, 0);
    auto orig = f;
    emu_launch(dense_fires, (M + T - 1) / T, T, f.data(), B, M, 1, counts.data(), last.data(), 7, sums.data(),
               positives.data());
    std::vector<int> wc(M, 3), wl(M, 1);
    std::vector<float> wf = orig, ws(M);
    unsigned long long wp = 0;
    for (int i = 0; i < M; i++) {
        double s = 0;
        int c = 0;
        for (int b = 0; b < B; b++) {
            float v = orig[b * M + i];
            if (v > 0) { c++; s += v; } else wf[b * M + i] = 0;
        }
        wc[i] += c;
        if (c) wl[i] = 7;
        ws[i] = (float)s;
        wp += c;
    }
    same("reluDenseFires relu", wf, f);
    same("reluDenseFires counts", wc, counts);
    same("reluDenseFires lastFired", wl, last);
    same("reluDenseFires actSums (exact)", ws, sums);
    if (positives[0] != wp) fail("reluDenseFires count");
    // record_fires over a CSR
    Csr a;
    refCompact(orig, nullptr, B, M, a);
    for (size_t e = 0; e < a.val.size(); e += 5) a.val[e] = 0;
    std::vector<int> c2(M, 0), l2(M, 0);
    std::vector<float> s2(M, 0);
    emu_launch(record_fires, 2, T, a.rowPtr.data(), a.idx.data(), a.val.data(), B, c2.data(), l2.data(), 9, s2.data());
    std::vector<int> wc2(M, 0), wl2(M, 0);
    std::vector<double> ws2(M, 0);
    for (size_t e = 0; e < a.val.size(); e++)
        if (a.val[e] > 0) { wc2[a.idx[e]]++; wl2[a.idx[e]] = 9; ws2[a.idx[e]] += a.val[e]; }
    same("recordFires counts", wc2, c2);
    same("recordFires lastFired", wl2, l2);
    close("recordFires actSums", ws2, s2, 1e-5, 1e-6);
    // jump_relu_dense
    auto th = gauss(M, 0.5);
    for (auto& x : th) x = std::fabs(x);
    std::vector<float> jf(B * M, -9);
    positives[0] = 0;
    emu_launch(jump_relu_dense, 3, T, orig.data(), th.data(), B, M, jf.data(), positives.data());
    unsigned long long jc = 0;
    std::vector<float> wj(B * M);
    for (int q = 0; q < B * M; q++) { bool on = orig[q] > th[q % M]; wj[q] = on ? orig[q] : 0; jc += on; }
    same("jumpReluDense f", wj, jf);
    if (positives[0] != jc) fail("jumpReluDense count");
}

// ------------------------------------------------------------------ decode / backward
static Csr randomActs(int B, int M, int maxPerRow, bool hot) {
    Csr a;
    a.rowPtr.assign(1, 0);
    for (int b = 0; b < B; b++) {
        int count = b == 1 ? 0 : rng() % (maxPerRow + 1);
        std::vector<int> perm(hot ? 3 * maxPerRow : M);
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        for (int q = 0; q < count; q++) {
            a.idx.push_back(hot ? perm[q] * (M / (3 * maxPerRow)) : perm[q]);
            a.val.push_back(rng() % 5 == 0 ? 0.f : std::fabs(gauss(1, 1.0)[0]));
        }
        a.rowPtr.push_back(a.idx.size());
    }
    a.grad.assign(a.idx.size(), 0);
    return a;
}

struct Index {
    std::vector<int> start, order, entryRow;
};
static Index latentIndex(Csr& a, int B, int M) {
    size_t cap = std::max<size_t>(1, a.idx.size());
    Index ix;
    ix.entryRow.assign(cap, -1);
    ix.order.assign(cap, -1);
    ix.start.assign(M + 1, -1);
    std::vector<int> fill(M, 0);
    emu_launch(entry_rows, B, T, a.rowPtr.data(), B, ix.entryRow.data());
    emu_launch(latent_count, 2, T, a.rowPtr.data(), a.idx.data(), a.val.data(), B, fill.data());
    emu_launch(latent_start_scan, 1, SCAN, fill.data(), M, ix.start.data());
    std::fill(fill.begin(), fill.end(), 0);
    emu_launch(latent_scatter, 2, T, a.rowPtr.data(), a.idx.data(), a.val.data(), B, ix.start.data(), fill.data(),
               ix.order.data());
    return ix;
}

static void checkDecodeBackward(int B, int D, int M, int maxPerRow, bool hot) {
    Csr a = randomActs(B, M, maxPerRow, hot);
    auto w = gauss((size_t)M * D, 1 / std::sqrt(D)), bDec = gauss(D, 0.1), x = gauss((size_t)B * D, 1.0);
    std::vector<float> xHat(B * D), err(B * D);
    std::vector<double> rowSse(B), sse(1);
    emu_launch(sparse_decode, B, T, a.rowPtr.data(), a.idx.data(), a.val.data(), w.data(), bDec.data(), x.data(), B, D,
               xHat.data(), err.data(), rowSse.data());
    emu_launch(sum_rows_double, 1, T, rowSse.data(), B, 1, sse.data());
    std::vector<double> wx(B * D), we(B * D);
    double wsse = 0;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < D; j++) {
            double s = bDec[j];
            for (int e = a.rowPtr[b]; e < a.rowPtr[b + 1]; e++) s += (double)a.val[e] * w[(size_t)a.idx[e] * D + j];
            wx[b * D + j] = s;
            we[b * D + j] = s - x[b * D + j];
            wsse += (s - x[b * D + j]) * (s - x[b * D + j]);
        }
    std::string tag = std::string(hot ? " hot" : "") + " d=" + std::to_string(D);
    // Bit for bit against the float sum in entry order that skips zero values (the kernel's rounding).
    std::vector<float> fx(B * D);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < D; j++) {
            float acc = bDec[j];
            for (int e = a.rowPtr[b]; e < a.rowPtr[b + 1]; e++)
                if (a.val[e] != 0.0f) acc += a.val[e] * w[(size_t)a.idx[e] * D + j];
            fx[b * D + j] = acc;
        }
    same("sparseDecode xHat in entry order" + tag, fx, xHat);
    close("sparseDecode xHat" + tag, wx, xHat);
    close("sparseDecode err" + tag, we, err);
    close("sparseDecode sse" + tag, std::vector<double>{wsse}, sse, 0, 1e-5);
    // decoder backward
    float scale = 2.f / B;
    auto l1 = gauss(M, 0.01);
    std::vector<int> flags(M);
    for (auto& f : flags) f = rng() % 5 == 0;
    std::vector<float> dW = gauss((size_t)M * D, 0.1);
    for (int i = 0; i < M; i++) if (!flags[i]) std::fill(dW.begin() + (size_t)i * D, dW.begin() + (size_t)(i + 1) * D, 1e6f);
    auto dW0 = dW;
    auto flags0 = flags;
    emu_launch(entry_grad, B, T, a.rowPtr.data(), a.idx.data(), a.val.data(), B, err.data(), D, (int*)nullptr, 0, 0LL,
               w.data(), scale, l1.data(), a.grad.data());
    Index ix = latentIndex(a, B, M);
    emu_launch(latent_accumulate, M, T, ix.start.data(), ix.order.data(), ix.entryRow.data(), a.val.data(), scale,
               err.data(), D, M, (int*)nullptr, 0, 0LL, dW.data(), flags.data(), (float*)nullptr);
    std::vector<double> wg(a.idx.size()), wdW(dW0.begin(), dW0.end());
    std::vector<int> wf = flags0;
    for (int b = 0; b < B; b++)
        for (int e = a.rowPtr[b]; e < a.rowPtr[b + 1]; e++) {
            int i = a.idx[e];
            double s = 0;
            for (int j = 0; j < D; j++) s += (double)scale * err[b * D + j] * w[(size_t)i * D + j];
            wg[e] = a.val[e] > 0 ? s + l1[i] : 0;
            if (a.val[e] > 0) {
                if (!wf[i]) { std::fill(wdW.begin() + (size_t)i * D, wdW.begin() + (size_t)(i + 1) * D, 0.0); wf[i] = 1; }
                for (int j = 0; j < D; j++) wdW[(size_t)i * D + j] += (double)scale * a.val[e] * err[b * D + j];
            }
        }
    close("decoderBackward grad" + tag, wg, a.grad);
    same("decoderBackward flags" + tag, wf, flags);
    for (int i = 0; i < M; i++) if (!wf[i]) for (int j = 0; j < D; j++) { wdW[(size_t)i * D + j] = 0; dW[(size_t)i * D + j] = 0; }
    close("decoderBackward dWDec" + tag, wdW, dW);
    // encoder backward with the grads just computed
    std::vector<float> dWe = dW0, dB(M, 0.5f);
    std::vector<int> fe = flags0;
    emu_launch(latent_accumulate, M, T, ix.start.data(), ix.order.data(), ix.entryRow.data(), a.grad.data(), 1.f,
               x.data(), D, M, (int*)nullptr, 0, 0LL, dWe.data(), fe.data(), dB.data());
    // Bit for bit against the float sum in the latent index's entry order (the kernel's rounding).
    for (int i = 0; i < M; i++) {
        if (ix.start[i] == ix.start[i + 1]) continue;
        for (int j = 0; j < D; j++) {
            float acc = flags0[i] != 0 ? dW0[(size_t)i * D + j] : 0.0f;
            for (int q = ix.start[i]; q < ix.start[i + 1]; q++) {
                int e = ix.order[q];
                acc += (1.f * a.grad[e]) * x[(size_t)ix.entryRow[e] * D + j];
            }
            if (emu_bits(acc) != emu_bits(dWe[(size_t)i * D + j]))
                fail("latent_accumulate in entry order: latent " + std::to_string(i) + " column " + std::to_string(j));
        }
    }
    ok("latent_accumulate in entry order" + tag);
    std::vector<double> wdWe(dW0.begin(), dW0.end()), wdB(M, 0.5);
    std::vector<int> wfe = flags0;
    for (int b = 0; b < B; b++)
        for (int e = a.rowPtr[b]; e < a.rowPtr[b + 1]; e++) {
            int i = a.idx[e];
            if (a.val[e] <= 0) continue;
            if (!wfe[i]) { std::fill(wdWe.begin() + (size_t)i * D, wdWe.begin() + (size_t)(i + 1) * D, 0.0); wfe[i] = 1; }
            for (int j = 0; j < D; j++) wdWe[(size_t)i * D + j] += (double)a.grad[e] * x[b * D + j];
            wdB[i] += a.grad[e];
        }
    same("encoderBackward flags" + tag, wfe, fe);
    for (int i = 0; i < M; i++) if (!wfe[i]) for (int j = 0; j < D; j++) { wdWe[(size_t)i * D + j] = 0; dWe[(size_t)i * D + j] = 0; }
    close("encoderBackward dWEnc" + tag, wdWe, dWe);
    close("encoderBackward dBEnc" + tag, wdB, dB);
}

static void checkMatryoshka(int B, int D, int M) {
    Csr a = randomActs(B, M, 9, false);
    std::vector<int> ends{M / 5, M / 2, M};
    int G = 3;
    auto w = gauss((size_t)M * D, 1 / std::sqrt(D)), bDec = gauss(D, 0.1), x = gauss((size_t)B * D, 1.0);
    std::vector<float> xHat(B * D), err(B * D), suffix((size_t)G * B * D);
    std::vector<double> rowSse(B * G), sse(G);
    emu_launch(matryoshka_decode, B, T, a.rowPtr.data(), a.idx.data(), a.val.data(), w.data(), bDec.data(), x.data(),
               ends.data(), G, B, D, xHat.data(), err.data(), suffix.data(), rowSse.data());
    emu_launch(sum_rows_double, 1, T, rowSse.data(), B, G, sse.data());
    std::vector<double> wsse(G), wsuf((size_t)G * B * D, 0), werr(B * D), wx(B * D);
    for (int g = 0; g < G; g++)
        for (int b = 0; b < B; b++)
            for (int j = 0; j < D; j++) {
                double s = bDec[j];
                for (int e = a.rowPtr[b]; e < a.rowPtr[b + 1]; e++)
                    if (a.idx[e] < ends[g]) s += (double)a.val[e] * w[(size_t)a.idx[e] * D + j];
                double d = s - x[b * D + j];
                wsse[g] += d * d;
                for (int h = 0; h <= g; h++) wsuf[(size_t)h * B * D + b * D + j] += d;
                if (g == G - 1) { werr[b * D + j] = d; wx[b * D + j] = s; }
            }
    close("matryoshkaDecode sse", wsse, sse, 0, 1e-5);
    close("matryoshkaDecode xHat", wx, xHat);
    close("matryoshkaDecode err", werr, err);
    close("matryoshkaDecode residSuffix", wsuf, suffix);
    float scale = 2.f / B;
    long long slab = (long long)B * D;
    std::vector<float> dW((size_t)M * D, 7.f);
    std::vector<int> flags(M, 0);
    emu_launch(entry_grad, B, T, a.rowPtr.data(), a.idx.data(), a.val.data(), B, suffix.data(), D, ends.data(), G, slab,
               w.data(), scale, (float*)nullptr, a.grad.data());
    Index ix = latentIndex(a, B, M);
    emu_launch(latent_accumulate, M, T, ix.start.data(), ix.order.data(), ix.entryRow.data(), a.val.data(), scale,
               suffix.data(), D, M, ends.data(), G, slab, dW.data(), flags.data(), (float*)nullptr);
    std::vector<double> wg(a.idx.size()), wdW((size_t)M * D, 0);
    for (int b = 0; b < B; b++)
        for (int e = a.rowPtr[b]; e < a.rowPtr[b + 1]; e++) {
            int i = a.idx[e];
            int g = 0;
            while (i >= ends[g]) g++;
            const float* s = suffix.data() + (size_t)g * slab + (size_t)b * D;
            double dot = 0;
            for (int j = 0; j < D; j++) dot += (double)scale * s[j] * w[(size_t)i * D + j];
            wg[e] = a.val[e] > 0 ? dot : 0;
            if (a.val[e] > 0) for (int j = 0; j < D; j++) wdW[(size_t)i * D + j] += (double)scale * a.val[e] * s[j];
        }
    for (int i = 0; i < M; i++) if (!flags[i]) for (int j = 0; j < D; j++) dW[(size_t)i * D + j] = 0;
    close("matryoshkaDecoderBackward grad", wg, a.grad);
    close("matryoshkaDecoderBackward dWDec", wdW, dW);
}

static void checkJumpBackward(int B, int D, int M) {
    auto th = gauss(M, 0.3);
    for (auto& t : th) t = std::fabs(t) + 0.05f;
    std::vector<float> pre(B * M);
    for (int b = 0; b < B; b++) for (int i = 0; i < M; i++) pre[b * M + i] = th[i] + (float)gauss(1, 0.05)[0];
    auto err = gauss(B * D, 1.0), w = gauss((size_t)M * D, 1 / std::sqrt(D));
    float scale = 2.f / B, eps = 0.04f, l0 = 0.3f;
    std::vector<double> acc(M, 0);
    std::vector<float> out(M);
    emu_launch(jump_relu_threshold_hits, B, T, pre.data(), th.data(), err.data(), w.data(), scale, eps, l0, B, D, M,
               acc.data());
    emu_launch(jump_relu_threshold_finish, (M + T - 1) / T, T, th.data(), acc.data(), M, out.data());
    std::vector<double> want(M);
    double mx = 0;
    for (int i = 0; i < M; i++) {
        double dt = 0;
        for (int b = 0; b < B; b++)
            if (std::fabs((double)pre[b * M + i] - th[i]) < eps / 2.0) {
                double d = 0;
                for (int j = 0; j < D; j++) d += (double)scale * err[b * D + j] * w[(size_t)i * D + j];
                dt += -(th[i] / (double)eps) * d - l0 / (double)eps;
            }
        want[i] = th[i] * dt;
        mx = std::max(mx, std::fabs(want[i]));
    }
    close("jumpReluThresholdBackward", want, out, 1e-5 * mx, 1e-4);
}

static void checkGated(int B, int D, int M) {
    Csr a = randomActs(B, M, 12, false);
    Csr gate = a;
    for (auto& v : gate.val) v = std::fabs(v) + 0.1f;
    auto aux = gauss(B * D, 1.0), w = gauss((size_t)M * D, 1 / std::sqrt(D)), l1 = gauss(M, 0.01), ms = gauss(M, 0.3),
         bMag = gauss(M, 0.3);
    a.grad = gauss(a.idx.size(), 0.1);
    float auxScale = 0.25f;
    std::vector<double> sums(3 * M, 0);
    std::vector<float> gg(a.idx.size(), -1), dBG(M), dBM(M), dR(M);
    emu_launch(gated_sparse_backward, B, T, a.rowPtr.data(), a.idx.data(), a.val.data(), a.grad.data(), gg.data(),
               aux.data(), auxScale, w.data(), l1.data(), ms.data(), bMag.data(), B, D, M, sums.data());
    emu_launch(gated_sums_finish, (M + T - 1) / T, T, sums.data(), M, 0, dBG.data(), dBM.data(), dR.data());
    std::vector<double> wgg(a.idx.size()), sG(M), sM(M), sR(M);
    for (int b = 0; b < B; b++)
        for (int e = a.rowPtr[b]; e < a.rowPtr[b + 1]; e++) {
            int i = a.idx[e];
            double dot = 0;
            for (int j = 0; j < D; j++) dot += (double)aux[b * D + j] * w[(size_t)i * D + j];
            double dg = auxScale * dot + l1[i];
            wgg[e] = dg + ms[i] * a.grad[e];
            sG[i] += dg;
            sM[i] += a.grad[e];
            sR[i] += a.grad[e] * ((double)a.val[e] - bMag[i]);
        }
    close("gatedSparseBackward gate.grad", wgg, gg);
    close("gatedSparseBackward dBGate", sG, dBG);
    close("gatedSparseBackward dBMag", sM, dBM);
    close("gatedSparseBackward dRMag", sR, dR);
    // accumulate: the rounded sums are added to what dBGate, dBMag, dRMag hold (a row block after the first)
    auto aG = dBG, aM = dBM, aR = dR;
    emu_launch(gated_sums_finish, (M + T - 1) / T, T, sums.data(), M, 1, aG.data(), aM.data(), aR.data());
    for (int i = 0; i < M; i++) {
        if (aG[i] != dBG[i] + (float)sums[i] || aM[i] != dBM[i] + (float)sums[M + i]
            || aR[i] != dR[i] + (float)sums[2 * M + i]) fail("gatedSparseBackward accumulate");
    }
    ok("gatedSparseBackward accumulate");
    // dense column kernels: gated_dense, dense_backward_mask, gated_dense_mag, gated_dense_gate
    auto pre = gauss(B * M, 1.0), bGate = gauss(M, 0.3);
    auto pre0 = pre;
    std::vector<float> f(B * M, -1), gs(M);
    std::vector<int> fired(1, 0);
    std::vector<unsigned long long> open(1, 0);
    emu_launch(gated_dense, (M + T - 1) / T, T, pre.data(), bGate.data(), bMag.data(), ms.data(), B, M, f.data(), gs.data(),
               fired.data(), open.data());
    std::vector<float> wf(B * M), wp = pre0, wgs(M);
    unsigned long long wo = 0;
    int won = 0;
    for (int i = 0; i < M; i++) {
        double s = 0;
        for (int b = 0; b < B; b++) {
            int q = b * M + i;
            float v = pre0[q];
            if (v > 0) {
                float m = (float)std::max(0.0, (double)ms[i] * ((double)v - bGate[i]) + bMag[i]);
                wf[q] = m; s += v; wo++; won += m > 0;
            } else { wf[q] = 0; wp[q] = 0; }
        }
        wgs[i] = (float)s;
    }
    same("gatedDense f", wf, f);
    same("gatedDense relu(pre)", wp, pre);
    same("gatedDense gateSums", wgs, gs);
    if (open[0] != wo || fired[0] != won) fail("gatedDense counts");
    ok("gatedDense counts");
    auto dpre = gauss(B * M, 1.0);
    auto dpre0 = dpre;
    std::vector<float> dBEnc(M);
    emu_launch(dense_backward_mask, (M + T - 1) / T, T, f.data(), l1.data(), B, M, dpre.data(), dBEnc.data(), 0);
    std::vector<float> wd(B * M);
    std::vector<double> wdb(M);
    for (int q = 0; q < B * M; q++) { wd[q] = f[q] > 0 ? dpre0[q] + l1[q % M] : 0; wdb[q % M] += wd[q]; }
    same("denseBackward dpre mask", wd, dpre);
    close("denseBackward dBEnc", wdb, dBEnc, 1e-6, 1e-6);
    // accumulate (a later row block): dBEnc += the column sums, from what it held
    auto dpreA = dpre0;
    auto dBEncA = gauss(M, 1.0);
    std::vector<double> wdbA(M);
    for (int i = 0; i < M; i++) { wdbA[i] = dBEncA[i] + wdb[i]; }
    emu_launch(dense_backward_mask, (M + T - 1) / T, T, f.data(), l1.data(), B, M, dpreA.data(), dBEncA.data(), 1);
    same("denseBackward dpre mask (accumulate)", wd, dpreA);
    close("denseBackward dBEnc (accumulate)", wdbA, dBEncA, 1e-6, 1e-6);
    auto scr = gauss(B * M, 1.0);
    auto scr0 = scr;
    auto fm = f;
    std::vector<float> dbm(M), drm(M), dbg(M), dps(M);
    emu_launch(gated_dense_mag, (M + T - 1) / T, T, fm.data(), scr.data(), bMag.data(), ms.data(), B, M, 0, dbm.data(), drm.data());
    std::vector<double> wbm(M), wrm(M);
    std::vector<float> wfm(B * M);
    for (int q = 0; q < B * M; q++) {
        int i = q % M;
        float gm = f[q] > 0 ? scr0[q] : 0;
        wbm[i] += gm; wrm[i] += (double)gm * ((double)f[q] - bMag[i]); wfm[q] = ms[i] * gm;
    }
    same("gatedDenseBackward magScale * dmag", wfm, fm);
    close("gatedDenseBackward dBMag", wbm, dbm, 1e-6, 1e-6);
    close("gatedDenseBackward dRMag", wrm, drm, 1e-6, 1e-6);
    {   // accumulate: the same sums added to what dBMag, dRMag hold
        auto fa = f, am = dbm, ar = drm;
        emu_launch(gated_dense_mag, (M + T - 1) / T, T, fa.data(), scr0.data(), bMag.data(), ms.data(), B, M, 1, am.data(), ar.data());
        for (int i = 0; i < M; i++) {
            if (am[i] != dbm[i] + dbm[i] || ar[i] != drm[i] + drm[i]) fail("gatedDenseBackward mag accumulate");
        }
        ok("gatedDenseBackward mag accumulate");
    }
    auto scrIn = scr;
    emu_launch(gated_dense_gate, (M + T - 1) / T, T, pre.data(), scr.data(), fm.data(), l1.data(), B, M, 0, dbg.data(), dps.data());
    std::vector<double> wbg(M), wps(M);
    std::vector<float> wsc(B * M);
    for (int q = 0; q < B * M; q++) {
        int i = q % M;
        float dg = pre[q] > 0 ? scr0[q] + l1[i] : 0;
        float dp = dg + fm[q];
        wbg[i] += dg; wps[i] += dp; wsc[q] = dp;
    }
    same("gatedDenseBackward dpre", wsc, scr);
    close("gatedDenseBackward dBGate", wbg, dbg, 1e-6, 1e-6);
    close("gatedDenseBackward dpreSums", wps, dps, 1e-6, 1e-6);
    {   // accumulate: the same sums added to what dBGate, dpreSums hold
        auto sa = scrIn;
        auto ag = dbg, ap = dps;
        emu_launch(gated_dense_gate, (M + T - 1) / T, T, pre.data(), sa.data(), fm.data(), l1.data(), B, M, 1, ag.data(), ap.data());
        for (int i = 0; i < M; i++) {
            if (ag[i] != dbg[i] + dbg[i] || ap[i] != dps[i] + dps[i]) fail("gatedDenseBackward gate accumulate");
        }
        ok("gatedDenseBackward gate accumulate");
    }
}

static void checkDenseDecodeParts(int B, int D) {
    auto bias = gauss(D, 1.0), x = gauss(B * D, 1.0);
    std::vector<float> xHat(B * D, -1), err(B * D);
    emu_launch(broadcast_rows, 2, T, bias.data(), B, D, xHat.data());
    for (int q = 0; q < B * D; q++) if (xHat[q] != bias[q % D]) fail("broadcast_rows");
    ok("denseDecode broadcast bDec");
    for (int q = 0; q < B * D; q++) xHat[q] += 0.5f * x[(q * 7) % (B * D)];
    int blocks = 3;
    std::vector<double> part(blocks), sse(1);
    emu_launch(residual_sse, blocks, T, xHat.data(), x.data(), (long long)B * D, err.data(), part.data());
    emu_launch(sum_rows_double, 1, T, part.data(), blocks, 1, sse.data());
    double w = 0;
    for (int q = 0; q < B * D; q++) { float d = xHat[q] - x[q]; if (err[q] != d) fail("residual err"); w += (double)d * d; }
    close("denseDecode residual sse", std::vector<double>{w}, sse, 0, 1e-12);
    std::vector<int> flags(300, 0);
    emu_launch(fill_flags, 2, T, flags.data(), 300);
    for (int f : flags) if (f != 1) fail("fill_flags");
    ok("fill_flags");
}

// sparse_decode and entry_grad reading W_dec rows past 2^31 elements: w [BIG, D] with BIG = 2^21 + 1 and D = 1024
// (latent 2^21's row starts at element 2^31), mapped without reserving memory so that only the three rows in use are
// touched. Bit for bit against the float sums of checkDecodeBackward on copies of those rows.
static void checkDecodePastTwoToThe31() {
    const int D = 1024, B = 3;
    const size_t BIG = (1u << 21) + 1;
    const int lat[3] = {5, (1 << 21) - 1, 1 << 21};
    const size_t bytes = BIG * D * sizeof(float);
    void* map = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) fail("decode past 2^31: mmap of 8 GiB refused");
    float* w = (float*)map;
    std::vector<std::vector<float>> rows;
    for (int s = 0; s < 3; s++) {
        rows.push_back(gauss(D, 1 / std::sqrt(D)));
        std::copy(rows[s].begin(), rows[s].end(), w + (size_t)lat[s] * D);
    }
    Csr a;
    a.rowPtr = {0, 2, 3, 6};
    a.idx = {lat[0], lat[2], lat[1], lat[2], lat[1], lat[0]};
    a.val = {0.7f, 1.3f, 0.4f, 2.1f, 0.0f, 0.9f};
    a.grad.assign(a.idx.size(), 0);
    auto slot = [&](int i) { return i == lat[0] ? 0 : i == lat[1] ? 1 : 2; };
    auto bDec = gauss(D, 0.1), x = gauss((size_t)B * D, 1.0);
    std::vector<float> xHat(B * D), err(B * D);
    std::vector<double> rowSse(B);
    emu_launch(sparse_decode, B, T, a.rowPtr.data(), a.idx.data(), a.val.data(), (const float*)w, bDec.data(),
               x.data(), B, D, xHat.data(), err.data(), rowSse.data());
    std::vector<float> fx(B * D);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < D; j++) {
            float acc = bDec[j];
            for (int e = a.rowPtr[b]; e < a.rowPtr[b + 1]; e++)
                if (a.val[e] != 0.0f) acc += a.val[e] * rows[slot(a.idx[e])][j];
            fx[b * D + j] = acc;
        }
    same("sparseDecode past 2^31 elements", fx, xHat);
    float scale = 2.f / B;
    emu_launch(entry_grad, B, T, a.rowPtr.data(), a.idx.data(), a.val.data(), B, err.data(), D, (int*)nullptr, 0, 0LL,
               (const float*)w, scale, (const float*)nullptr, a.grad.data());
    std::vector<double> wg(a.idx.size());
    for (int b = 0; b < B; b++)
        for (int e = a.rowPtr[b]; e < a.rowPtr[b + 1]; e++) {
            double s = 0;
            for (int j = 0; j < D; j++) s += (double)scale * err[b * D + j] * rows[slot(a.idx[e])][j];
            wg[e] = a.val[e] > 0 ? s : 0;
        }
    close("entry_grad past 2^31 elements", wg, a.grad);
    munmap(map, bytes);
}

int main() {
    for (bool shared : {true, false}) {
        checkTopk(5, 300, 7, false, false, 0, shared);
        checkTopk(4, 301, 32, true, false, 1, shared);
        checkTopk(3, 40, 1, false, false, 2, shared);
        checkTopk(4, 2051, 500, false, true, 3, shared);
        checkTopk(3, 1030, 200, true, true, 1, shared);
        checkTopk(2, 7, 7, false, true, 3, shared);
        checkTopk(3, 3, 2, true, false, 1, shared);
    }
    checkCompaction(9, 600);
    checkBatchTopk(7, 257, 7 * 7, false);
    checkBatchTopk(7, 257, 1, false);
    checkBatchTopk(7, 257, 100000, false);
    checkBatchTopk(9, 300, 9 * 20, true);
    checkBatchTopk(3, 5, 6, true);
    for (int rows : {1, 3, 9}) {
        checkBatchTopkMerge(9, 300, 9 * 20, rows, false);
        checkBatchTopkMerge(9, 300, 9 * 20, rows, true);
        checkBatchTopkMerge(7, 257, 1, rows, true);
        checkBatchTopkMerge(7, 40, 100000, rows, false);
    }
    {
        // nothing positive
        std::vector<float> pre(15, -1.f);
        std::vector<long long> state(4);
        std::vector<unsigned long long> hist(2048);
        std::vector<float> mk(1, 5);
        for (int p = 0; p < 3; p++) {
            std::fill(hist.begin(), hist.end(), 0);
            emu_launch(batch_topk_hist, 1, T, pre.data(), 15LL, p, state.data(), hist.data());
            emu_launch(batch_topk_select, 1, 32, hist.data(), p, 6LL, state.data(), mk.data());
        }
        std::vector<int> gt(3), eq(3), rp(4, 9);
        emu_launch(batch_topk_row_counts, 3, T, pre.data(), 3, 5, state.data(), gt.data(), eq.data());
        emu_launch(batch_topk_row_ptr, 1, SCAN, gt.data(), eq.data(), 3, state.data(), rp.data());
        if (state[0] != 0 || mk[0] != 0 || rp != std::vector<int>(4, 0)) fail("batchTopk nothing positive");
        ok("batchTopk nothing positive");
    }
    checkDenseFires(9, 300);
    checkDecodeBackward(7, 48, 300, 7, false);
    checkDecodeBackward(9, 300, 384, 8, true);
    checkDecodeBackward(8, 40, 500, 21, false);  // rows past sparse_decode's unrolled 8 entries, with tails
    checkDecodeBackward(64, 24, 90, 3, true);    // latents with 8 and more entries (latent_accumulate's unrolled loop)
    checkDecodePastTwoToThe31();
    checkMatryoshka(6, 70, 100);
    checkJumpBackward(8, 60, 300);
    checkGated(7, 50, 270);
    checkDenseDecodeParts(5, 300);
    std::printf("all %d checks passed\n", checks);
    return 0;
}
