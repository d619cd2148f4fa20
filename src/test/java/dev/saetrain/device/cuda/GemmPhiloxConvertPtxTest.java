package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The committed PTX of gemm, philox and convert declares every kernel {@link CudaGemm}, {@link CudaPhilox} and
 * {@link CudaConvert} launch, with parameters of the spec's count, order and width (PTR and I64 are both
 * {@code .u64} in PTX, I32 {@code .u32}/{@code .s32}, F32 {@code .f32}), targets compute_80, and has no
 * symbol whose name depends on where the PTX was built. cuda-core's KernelSignatureTest checks the whole
 * catalog the same way once merged.
 */
class GemmPhiloxConvertPtxTest {
    private static final Pattern LINE_INFO = Pattern.compile("(?m)^\\s*\\.(loc|file)\\s");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+\\.(\\w+)\\s+(\\w+)");

    @Test
    void everySpecHasAMatchingEntry() throws IOException {
        List<KernelSpec> specs = Stream.of(CudaGemm.KERNELS, CudaPhilox.KERNELS, CudaConvert.KERNELS)
                .flatMap(List::stream).toList();
        assertEquals(9, specs.size());
        for (KernelSpec spec : specs) {
            String ptx = ptx(spec.module());
            List<String> types = entryParamTypes(ptx, spec.name());
            assertEquals(spec.params().size(), types.size(), spec + ": PTX has " + types);
            for (int i = 0; i < types.size(); i++) {
                String want = switch (spec.params().get(i)) {
                    case PTR, I64 -> "64";
                    case I32 -> "32i";
                    case F32 -> "f32";
                };
                String t = types.get(i);
                String got = t.equals("f32") ? "f32" : t.endsWith("64") ? "64" : t.endsWith("32") ? "32i" : t;
                assertEquals(want, got, spec + ": parameter " + i + " is ." + t + " in the PTX");
            }
        }
    }

    @Test
    void thePtxTargetsComputeEightyAndIsReproducible() throws IOException {
        for (String module : List.of("gemm", "philox", "convert")) {
            String ptx = ptx(module);
            assertTrue(ptx.contains(".target sm_80"), module + ".ptx is not built for compute_80");
            assertFalse(ptx.contains("_INTERNAL_"), module + ".ptx holds a path-hashed internal symbol");
            assertFalse(LINE_INFO.matcher(ptx).find(), module + ".ptx was built with line info");
        }
    }

    @Test
    void aMissingOrMisshapenEntryIsCaught() throws IOException {
        String ptx = ptx("gemm");
        assertEquals(13, entryParamTypes(ptx, "gemm_tf32_nt").size());
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> entryParamTypes(ptx, "gemm_tf32_xx"));
        assertTrue(e.getMessage().contains("gemm_tf32_xx"));
    }

    static String ptx(String module) throws IOException {
        try (InputStream in = CudaGemm.class.getResourceAsStream("kernels/" + module + ".ptx")) {
            assertNotNull(in, module + ".ptx is not in the resources");
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    /** The parameter types (u32, u64, f32, ...) of {@code .entry name(...)}, in order. */
    static List<String> entryParamTypes(String ptx, String name) {
        Matcher m = Pattern.compile("\\.entry\\s+" + Pattern.quote(name) + "\\s*\\(([^)]*)\\)").matcher(ptx);
        if (!m.find()) {
            throw new IllegalStateException("no .entry " + name + " in the PTX");
        }
        List<String> types = new ArrayList<>();
        Matcher p = PARAM.matcher(m.group(1));
        while (p.find()) {
            types.add(p.group(1));
        }
        return types;
    }
}
