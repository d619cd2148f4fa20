package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.device.FloatBuf;
import dev.saetrain.device.IntBuf;
import dev.saetrain.device.SparseActs;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The host side of {@link CudaActivationOps} on a {@link RecordingRuntime} (no GPU): every op launches only
 * catalogued kernels with arguments of the declared kinds, every catalogued kernel is launched by some op, launch
 * grids follow the data (one block per row / per latent), counts and sums are read back from the kernels' scratch
 * words, contract violations are refused before anything is queued, and scratch is reused, grown and freed.
 */
class CudaActivationOpsHostTest {
    private static final int B = 3;
    private static final int D = 5;
    private static final int M = 7;
    private static final int CAP = 12;

    private final RecordingRuntime rt = new RecordingRuntime();

    private CudaFloatBuf f(long n) {
        return rt.allocFloat(n);
    }

    private CudaIntBuf i(long n) {
        return rt.allocInt(n);
    }

    private SparseActs acts(int capacity) {
        return new SparseActs(i(B + 1), i(capacity), f(capacity), f(capacity), B, capacity);
    }

    /** Runs every one of the 22 ops once with buffers of the right sizes. */
    private void runAll(CudaActivationOps ops) {
        int[] ends = {3, M};
        SparseActs a = acts(CAP);
        ops.topk(f(B * M), B, M, 2, null, 0, a);
        rt.cannedInts.add(RecordingRuntime.words(5L));
        ops.topk(f(B * M), B, M, 2, i(M), 4, a);
        ops.reluSparse(f(B * M), B, M, a);
        ops.reluDense(f(B * M), B, M);
        ops.recordFires(a, M, i(M), i(M), 3, f(M));
        ops.recordFiresDense(f(B * M), B, M, i(M), i(M), 3, null);
        ops.reluDenseFires(f(B * M), B, M, i(M), i(M), 3, f(M));
        ops.sparseDecode(a, f(M * D), f(D), f(B * D), B, D, f(B * D), f(B * D));
        ops.denseDecode(f(B * M), f(M * D), f(D), f(B * D), B, D, M, f(B * D), f(B * D));
        ops.sparseDecoderBackward(a, f(B * D), 0.5f, f(M * D), f(M), B, D, M, f(M * D), i(M));
        ops.sparseEncoderBackward(a, f(B * D), B, D, M, f(M * D), f(M), i(M));
        ops.denseBackward(f(B * M), f(B * D), 0.5f, f(M * D), null, f(B * D), B, D, M, f(B * M), f(M * D), i(M),
                f(M * D), i(M), f(M), false);
        ops.batchTopk(f(B * M), B, M, 6, a, f(1));
        rt.cannedInts.add(new int[] {4}); // the two blocks' entry counts
        rt.cannedInts.add(new int[] {3});
        ops.batchTopkMerge(new SparseActs[] {new SparseActs(i(3), i(6), f(6), f(6), 2, 6),
                new SparseActs(i(2), i(6), f(6), f(6), 1, 6)}, 6, a, f(1));
        ops.jumpReluSparse(f(B * M), f(M), B, M, a);
        ops.jumpReluDense(f(B * M), f(M), B, M, f(B * M));
        ops.jumpReluThresholdBackward(f(B * M), f(M), f(B * D), 0.5f, f(M * D), 0.01f, 0.1f, B, D, M, f(M));
        rt.cannedInts.add(ends);
        ops.matryoshkaDecode(a, f(M * D), f(D), f(B * D), i(2), 2, B, D, M, f(B * D), f(B * D), f(2 * B * D));
        rt.cannedInts.add(ends);
        ops.matryoshkaDecoderBackward(a, f(2 * B * D), i(2), 2, 0.5f, f(M * D), B, D, M, f(M * D), i(M));
        ops.gatedSparse(f(B * M), f(M), f(M), f(M), B, M, a, f(CAP), f(M), i(1));
        ops.gatedDense(f(B * M), f(M), f(M), f(M), B, M, f(B * M), f(M), i(1));
        ops.gatedSparseBackward(a, acts(CAP), f(B * D), 0.25f, f(M * D), f(M), f(M), f(M), B, D, M, f(M), f(M), f(M),
                false);
        ops.gatedDenseBackward(f(B * M), f(B * M), f(B * D), 0.5f, f(B * D), 0.25f, f(M * D), f(M), f(M), f(M), f(B * D),
                B, D, M, f(B * M), f(M * D), i(M), f(M * D), i(M), f(M), f(M), f(M), f(M), false);
    }

    @Test
    void everyOpLaunchesCataloguedKernelsAndEveryKernelIsLaunched() {
        try (CudaActivationOps ops = new CudaActivationOps(rt)) {
            runAll(ops);
        }
        Set<KernelSpec> launched = new HashSet<>();
        for (RecordingRuntime.Launch l : rt.launches) {
            assertTrue(CudaActivationOps.KERNELS.contains(l.kernel()), "launched but not in KERNELS: " + l.kernel());
            launched.add(l.kernel());
        }
        Set<KernelSpec> never = new HashSet<>(CudaActivationOps.KERNELS);
        never.removeAll(launched);
        assertTrue(never.isEmpty(), "in KERNELS but never launched: " + never);
        // denseDecode 1, denseBackward 3, gatedDenseBackward 4 products.
        assertEquals(8, rt.gemms.size(), rt.gemms.toString());
    }

    @Test
    void kernelNamesAreUniqueAndLiveInTheTwoModules() {
        Set<String> names = new HashSet<>();
        for (KernelSpec k : CudaActivationOps.KERNELS) {
            assertTrue(names.add(k.name()), "duplicate kernel " + k.name());
            assertTrue(k.module().equals("activation") || k.module().equals("sparse"), k.toString());
        }
        assertTrue(KernelCatalog.all().containsAll(CudaActivationOps.KERNELS), "KernelCatalog collects KERNELS");
    }

    @Test
    void gridsFollowRowsAndLatents() {
        try (CudaActivationOps ops = new CudaActivationOps(rt)) {
            SparseActs a = acts(CAP);
            ops.topk(f(B * M), B, M, 2, null, 0, a);
            ops.sparseDecoderBackward(a, f(B * D), 0.5f, f(M * D), null, B, D, M, f(M * D), i(M));
        }
        for (RecordingRuntime.Launch l : rt.launches) {
            switch (l.kernel().name()) {
                case "topk_select", "entry_grad", "entry_rows" -> assertEquals(B, l.gridX(), l.kernel().name());
                case "latent_accumulate" -> assertEquals(M, l.gridX(), "one block per latent");
                case "latent_start_scan" -> {
                    assertEquals(1, l.gridX(), "one-block scan");
                    assertEquals(GridMath.SCAN_BLOCK, l.blockX());
                }
                default -> assertTrue(l.gridX() <= 4L * GridMath.BLOCKS_PER_SM, l.kernel().name());
            }
        }
        List<String> names = rt.names();
        assertEquals(List.of("topk_select", "entry_grad", "entry_rows", "latent_count", "latent_start_scan",
                "latent_scatter", "latent_accumulate"), names, "the decoder backward: dots, counting sort, rows");
    }

    @Test
    void topkAsksForSharedMemoryOnlyForRowsThatFit() {
        try (CudaActivationOps ops = new CudaActivationOps(rt)) {
            ops.topk(f(B * M), B, M, 2, null, 0, acts(CAP));
            int wide = 20_000;  // 80 KB of keys: past the recording runtime's 48 KiB
            ops.topk(f((long) B * wide), B, wide, 2, null, 0, acts(CAP));
        }
        RecordingRuntime.Launch narrow = rt.launches.get(0);
        RecordingRuntime.Launch wide = rt.launches.get(1);
        assertEquals(GridMath.topkSharedBytes(M, rt.maxSharedBytesPerBlock()), narrow.sharedBytes());
        assertTrue(narrow.sharedBytes() >= 4 * (M + 3), "room for the keys and their alignment offset");
        assertEquals(1, narrow.args().get(6), "keysInShared");
        assertEquals(0, wide.sharedBytes());
        assertEquals(0, wide.args().get(6), "keysInShared");
        assertEquals(GridMath.TOPK_BLOCK, wide.blockX());
    }

    @Test
    void compactionOverflowReturnsMinusOneWithoutFilling() {
        try (CudaActivationOps ops = new CudaActivationOps(rt)) {
            rt.cannedInts.add(RecordingRuntime.words((long) CAP + 1));
            assertEquals(-1, ops.reluSparse(f(B * M), B, M, acts(CAP)));
            assertFalse(rt.names().contains("compact_fill"), rt.names().toString());
            rt.cannedInts.add(RecordingRuntime.words((long) CAP));
            assertEquals(CAP, ops.jumpReluSparse(f(B * M), f(M), B, M, acts(CAP)));
            assertTrue(rt.names().contains("compact_fill"));
            rt.launches.clear();
            rt.cannedInts.add(RecordingRuntime.words((long) CAP + 1));
            assertEquals(-1, ops.gatedSparse(f(B * M), f(M), f(M), f(M), B, M, acts(CAP), f(CAP), f(M), i(1)));
            assertFalse(rt.names().contains("gated_fill"), "only rowPtr is written on overflow");
        }
    }

    @Test
    void countsAndSumsAreReadBackFromScratchWords() {
        try (CudaActivationOps ops = new CudaActivationOps(rt)) {
            long big = (1L << 33) + 5;
            rt.cannedInts.add(RecordingRuntime.words(big));
            assertEquals(big, ops.reluDense(f(B * M), B, M));
            rt.cannedInts.add(RecordingRuntime.words(12.375));
            assertEquals(12.375, ops.sparseDecode(acts(CAP), f(M * D), null, f(B * D), B, D, f(B * D), f(B * D)));
            rt.cannedInts.add(new int[] {1, M});
            int[] two = new int[4];
            System.arraycopy(RecordingRuntime.words(1.5), 0, two, 0, 2);
            System.arraycopy(RecordingRuntime.words(-2.25), 0, two, 2, 2);
            rt.cannedInts.add(two);
            assertArrayEquals(new double[] {1.5, -2.25}, ops.matryoshkaDecode(acts(CAP), f(M * D), f(D), f(B * D), i(2),
                    2, B, D, M, f(B * D), f(B * D), f(2 * B * D)));
            rt.cannedInts.add(RecordingRuntime.words(4L));
            assertEquals(4, ops.batchTopk(f(B * M), B, M, 6, acts(CAP), f(1)));
        }
    }

    @Test
    void contractViolationsAreRefusedBeforeAnyLaunch() {
        try (CudaActivationOps ops = new CudaActivationOps(rt)) {
            assertThrows(IllegalArgumentException.class, () -> ops.topk(f(B * M), B, M, 5, null, 0, acts(CAP)),
                    "batch * k > capacity");
            assertThrows(IllegalArgumentException.class, () -> ops.batchTopk(f(B * M), B, M, CAP + 1, acts(CAP), f(1)),
                    "kTotal > capacity");
            assertThrows(IllegalArgumentException.class, () -> ops.reluDense(f(B * M - 1), B, M), "pre too small");
            assertThrows(IllegalArgumentException.class, () -> ops.reluSparse(f(B * M), 0, M, acts(CAP)), "batch 0");
            FloatBuf host = new FloatBuf() {
                @Override
                public long size() {
                    return 1000;
                }

                @Override
                public void close() {
                }
            };
            assertThrows(IllegalArgumentException.class,
                    () -> ops.denseDecode(host, f(M * D), f(D), f(B * D), B, D, M, f(B * D), f(B * D)),
                    "a host buffer is not a CUDA buffer");
            assertTrue(rt.launches.isEmpty(), "nothing launched: " + rt.names());
            assertTrue(rt.gemms.isEmpty());
            for (int[] ends : new int[][] {{4, 4}, {0, M}, {3, M - 1}}) {
                rt.cannedInts.add(ends);
                IntBuf groupEnds = i(2);
                assertThrows(IllegalArgumentException.class, () -> ops.matryoshkaDecode(acts(CAP), f(M * D), f(D),
                        f(B * D), groupEnds, 2, B, D, M, f(B * D), f(B * D), f(2 * B * D)), java.util.Arrays.toString(ends));
            }
            assertTrue(rt.launches.isEmpty(), "bad group ends launch nothing");
        }
    }

    @Test
    void topkRefusesADeadFilterWithFewerCandidatesThanK() {
        try (CudaActivationOps ops = new CudaActivationOps(rt)) {
            rt.cannedInts.add(RecordingRuntime.words(1L));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ops.topk(f(B * M), B, M, 2, i(M), 4, acts(CAP)));
            assertTrue(e.getMessage().contains("clamp k"), e.getMessage());
            assertEquals(List.of("topk_count_candidates"), rt.names());
        }
    }

    @Test
    void scratchIsReusedGrownAndFreed() {
        CudaActivationOps ops = new CudaActivationOps(rt);
        SparseActs a = acts(CAP);
        ops.sparseDecoderBackward(a, f(B * D), 0.5f, f(M * D), null, B, D, M, f(M * D), i(M));
        int before = rt.allocations;
        ops.sparseDecoderBackward(a, f(B * D), 0.5f, f(M * D), null, B, D, M, f(M * D), i(M));
        assertEquals(before + 4, rt.allocations, "the second step allocates only its own 4 argument buffers");
        SparseActs bigger = acts(10 * CAP);
        int frees = rt.frees;
        ops.sparseEncoderBackward(bigger, f(B * D), B, D, M, f(M * D), f(M), i(M));
        assertTrue(rt.frees > frees, "scratch sized for the old capacity is replaced");
        int live = rt.allocations - rt.frees;
        ops.close();
        assertTrue(rt.allocations - rt.frees < live, "close frees the scratch");
        assertEquals(0, new ActScratch(rt).heldInts());
    }
}
