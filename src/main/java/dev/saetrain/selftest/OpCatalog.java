package dev.saetrain.selftest;

import dev.saetrain.device.Device;
import dev.saetrain.selftest.parity.AdamStepParity;
import dev.saetrain.selftest.parity.BatchTopkMergeParity;
import dev.saetrain.selftest.parity.BatchTopkParity;
import dev.saetrain.selftest.parity.BufferParity;
import dev.saetrain.selftest.parity.DecoderNormsParity;
import dev.saetrain.selftest.parity.DenseBackwardParity;
import dev.saetrain.selftest.parity.DenseDecodeParity;
import dev.saetrain.selftest.parity.EncodeParity;
import dev.saetrain.selftest.parity.GatedDenseBackwardParity;
import dev.saetrain.selftest.parity.GatedDenseParity;
import dev.saetrain.selftest.parity.GatedSparseBackwardParity;
import dev.saetrain.selftest.parity.GatedSparseParity;
import dev.saetrain.selftest.parity.JumpReluParity;
import dev.saetrain.selftest.parity.JumpReluThresholdBackwardParity;
import dev.saetrain.selftest.parity.L1DecoderCoefficientsParity;
import dev.saetrain.selftest.parity.MatryoshkaDecodeParity;
import dev.saetrain.selftest.parity.MatryoshkaDecoderBackwardParity;
import dev.saetrain.selftest.parity.RecordFiresParity;
import dev.saetrain.selftest.parity.ReductionsParity;
import dev.saetrain.selftest.parity.ReluDenseFiresParity;
import dev.saetrain.selftest.parity.ReluDenseParity;
import dev.saetrain.selftest.parity.ReluSparseParity;
import dev.saetrain.selftest.parity.ResampleRowsParity;
import dev.saetrain.selftest.parity.SparseBackwardParity;
import dev.saetrain.selftest.parity.SparseDecodeParity;
import dev.saetrain.selftest.parity.SparseDecoderBackwardParity;
import dev.saetrain.selftest.parity.SparseEncoderBackwardParity;
import dev.saetrain.selftest.parity.TopkParity;
import dev.saetrain.selftest.parity.ZeroRowsParity;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which parity check covers which {@link Device} op (the ops of the architectures' kernel interfaces the device hands
 * out included, see {@link #deviceOps}): every check method of {@code dev.saetrain.selftest.parity} that
 * takes a device under test, with the op its comparisons concern until the check marks another
 * ({@link ParityAssert#op}). The two matryoshka checks that take no device (they pin CpuDevice's argument checks)
 * run under JUnit only. {@link #uncovered} lists the Device methods that neither a check nor {@link #NOT_COMPARED}
 * names, so a new op without a check shows up as a failed line.
 */
public final class OpCatalog {
    /** A parity check: {@code type.method(FastDevice, Shape)} (or {@code (FastDevice)} alone), first op {@code op}. */
    public record Entry(Class<?> type, String method, String op) {
        /** The check's method (public static, (FastDevice[, Shape])). */
        public Method resolve() {
            for (Method m : type.getMethods()) {
                if (m.getName().equals(method) && Modifier.isStatic(m.getModifiers())) {
                    return m;
                }
            }
            throw new IllegalStateException(type.getSimpleName() + "." + method + " not found");
        }

        /** Whether the check runs once per shape (else once, at its own fixed size). */
        public boolean perShape() {
            return resolve().getParameterCount() == 2;
        }
    }

    /** Every check, in the order the selftest runs them. */
    public static final List<Entry> ENTRIES = List.of(
            new Entry(BufferParity.class, "buffersCopyExactly", "allocFloat"),
            new Entry(ReductionsParity.class, "scalarReductionsMatchReference", "centeredSumSquares"),
            new Entry(ReductionsParity.class, "vectorOpsMatchReference", "addColumnSums"),
            new Entry(EncodeParity.class, "gemmNTMatchesReference", "gemmNT"),
            new Entry(EncodeParity.class, "encodeMatchesReference", "encode"),
            new Entry(TopkParity.class, "topkMatchesReference", "topk"),
            new Entry(TopkParity.class, "topkWithDeadFilterMatchesReference", "topk"),
            new Entry(TopkParity.class, "wideRowsMatchReference", "topk"),
            new Entry(BatchTopkParity.class, "batchTopkMatchesReference", "batchTopk"),
            new Entry(BatchTopkParity.class, "tiesKeepTheSameMultisetOfValues", "batchTopk"),
            new Entry(BatchTopkParity.class, "nothingPositiveKeepsNothingAndTooSmallABufferIsRefused", "batchTopk"),
            new Entry(BatchTopkMergeParity.class, "batchTopkMergeMatchesTheWholeBatch", "batchTopkMerge"),
            new Entry(BatchTopkMergeParity.class, "blocksThatDoNotCoverTheBatchAreRefused", "batchTopkMerge"),
            new Entry(ReluSparseParity.class, "reluSparseMatchesReference", "reluSparse"),
            new Entry(ReluSparseParity.class, "overflowReturnsMinusOneAndLeavesEntries", "reluSparse"),
            new Entry(ReluDenseParity.class, "reluDenseMatchesReference", "reluDense"),
            new Entry(ReluDenseFiresParity.class, "reluDenseFiresMatchesReference", "reluDenseFires"),
            new Entry(RecordFiresParity.class, "recordFiresMatchesReference", "recordFires"),
            new Entry(RecordFiresParity.class, "recordFiresDenseMatchesReference", "recordFiresDense"),
            new Entry(SparseDecodeParity.class, "sparseDecodeMatchesReference", "sparseDecode"),
            new Entry(DenseDecodeParity.class, "denseDecodeMatchesReference", "denseDecode"),
            new Entry(SparseDecoderBackwardParity.class, "sparseDecoderBackwardMatchesReference", "sparseDecoderBackward"),
            new Entry(SparseEncoderBackwardParity.class, "sparseEncoderBackwardMatchesReference", "sparseEncoderBackward"),
            new Entry(SparseBackwardParity.class, "sparseBackwardMatchesTheTwoReferenceOps", "sparseBackward"),
            new Entry(DenseBackwardParity.class, "denseBackwardMatchesReference", "denseBackward"),
            new Entry(L1DecoderCoefficientsParity.class, "l1DecoderCoefficientsMatchReference", "l1DecoderCoefficients"),
            new Entry(DecoderNormsParity.class, "rowNormsAndNormalizeMatchReference", "rowNorms"),
            new Entry(DecoderNormsParity.class, "projectOutParallelMatchesReference", "projectOutParallel"),
            new Entry(AdamStepParity.class, "adamStepMatchesReference", "adamStep"),
            new Entry(ResampleRowsParity.class, "resampleRowsMatchesReference", "resampleRows"),
            new Entry(ZeroRowsParity.class, "zeroRowsMatchesReference", "zeroRows"),
            new Entry(JumpReluParity.class, "jumpReluMatchesReference", "jumpReluSparse"),
            new Entry(JumpReluThresholdBackwardParity.class, "thresholdGradientMatchesReference",
                    "jumpReluThresholdBackward"),
            new Entry(MatryoshkaDecodeParity.class, "matryoshkaDecodeMatchesReference", "matryoshkaDecode"),
            new Entry(MatryoshkaDecoderBackwardParity.class, "matryoshkaDecoderBackwardMatchesReference",
                    "matryoshkaDecoderBackward"),
            new Entry(GatedSparseParity.class, "gatedSparseMatchesReference", "gatedSparse"),
            new Entry(GatedDenseParity.class, "gatedDenseMatchesReference", "gatedDense"),
            new Entry(GatedSparseBackwardParity.class, "gatedSparseBackwardMatchesReference", "gatedSparseBackward"),
            new Entry(GatedDenseBackwardParity.class, "gatedDenseBackwardMatchesReference", "gatedDenseBackward"));

    /** Device methods no check compares, each with the reason (printed by the selftest). */
    public static final Map<String, String> NOT_COMPARED = Map.of(
            "describe", "text, not a result: printed in the environment lines",
            "close", "releases the device: run after the checks (an error there fails the selftest)",
            "freeMemoryBytes", "a measurement, not a result: printed in the environment lines",
            "sparseSwitch", "a policy, not a result: where the step switches paths (the step parity runs both)");

    /** Where the architectures' kernel interfaces live (their accessors on Device stand for their ops). */
    private static final String ARCH_PACKAGE = "dev.saetrain.device.arch";

    private OpCatalog() {
    }

    /**
     * Every op the Device interface declares (its instance methods, defaults included) and, in place of the
     * accessors that hand out an architecture's kernels ({@code jumpReluOps()} ...), the ops of those interfaces;
     * sorted.
     */
    public static Set<String> deviceOps() {
        Set<String> ops = new TreeSet<>();
        for (Method m : Device.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            Class<?> r = m.getReturnType();
            if (r.isInterface() && r.getPackageName().equals(ARCH_PACKAGE)) {
                for (Method k : r.getMethods()) {
                    if (!Modifier.isStatic(k.getModifiers())) {
                        ops.add(k.getName());
                    }
                }
            } else {
                ops.add(m.getName());
            }
        }
        return ops;
    }

    /**
     * The ops a check covers, in first-seen order: each entry's first op, then the ops its body marks. The marked
     * ones are declared here as well ({@link #MARKED}), so the list is known before anything runs.
     */
    public static Set<String> coveredOps() {
        Set<String> out = new LinkedHashSet<>();
        for (Entry e : ENTRIES) {
            out.add(e.op());
            out.addAll(MARKED.getOrDefault(e.op(), List.of()));
        }
        return out;
    }

    /** The ops a check marks with {@link ParityAssert#op} after its first one (keyed by that first op). */
    static final Map<String, List<String>> MARKED = Map.of(
            "allocFloat", List.of("allocInt", "upload", "download", "floatView", "uploadInt", "downloadInt", "clearFlags",
                    "batchUpload", "synchronize"),
            "centeredSumSquares", List.of("dot", "sumSquares", "countAtOrBelow"),
            "addColumnSums", List.of("addVecMat", "addScaledRows", "scaleInto", "fill"),
            "rowNorms", List.of("normalizeRows"),
            "jumpReluSparse", List.of("expInto", "jumpReluDense"));

    /** Device ops that no check covers and {@link #NOT_COMPARED} does not explain. */
    public static Set<String> uncovered() {
        Set<String> out = new TreeSet<>(deviceOps());
        out.removeAll(coveredOps());
        out.removeAll(NOT_COMPARED.keySet());
        return out;
    }
}
