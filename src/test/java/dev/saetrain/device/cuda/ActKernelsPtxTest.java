package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Each kernel {@link CudaActivationOps} launches against the committed PTX it ships (read from the classpath, as
 * the runtime loads it): an {@code .entry} of that name exists and its parameters match the spec in count, order
 * and kind. PTX declares every pointer and every 64-bit integer alike as {@code .u64}; a {@code .u64} parameter is
 * taken as a pointer when the body converts it to a global address ({@code cvta.to.global}), which every pointer of
 * these kernels is and no 64-bit count is. Also: the source declares each kernel {@code extern "C" __global__}.
 */
class ActKernelsPtxTest {
    private static final Pattern ENTRY = Pattern.compile("\\.visible\\s+\\.entry\\s+(\\w+)\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+\\.(\\w+)\\s+(\\w+)");

    private static String ptx(String module) throws IOException {
        try (InputStream in = CudaActivationOps.class.getResourceAsStream("kernels/" + module + ".ptx")) {
            assertNotNull(in, "kernels/" + module + ".ptx is not on the classpath");
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    /** Entry name -> its parameter kinds as PTX states them (PTR for a .u64 converted by cvta.to.global). */
    static Map<String, List<Param>> entries(String ptx) {
        Map<String, List<Param>> out = new HashMap<>();
        Matcher m = ENTRY.matcher(ptx);
        List<int[]> spans = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<String> lists = new ArrayList<>();
        while (m.find()) {
            spans.add(new int[] {m.end(), 0});
            names.add(m.group(1));
            lists.add(m.group(2));
        }
        for (int q = 0; q < names.size(); q++) {
            int end = q + 1 < names.size() ? ptx.lastIndexOf(".visible", ptx.indexOf(".entry " + names.get(q + 1)))
                    : ptx.length();
            String body = ptx.substring(spans.get(q)[0], end);
            List<Param> kinds = new ArrayList<>();
            Matcher p = PARAM.matcher(lists.get(q));
            while (p.find()) {
                kinds.add(switch (p.group(1)) {
                    case "u32", "s32" -> Param.I32;
                    case "f32" -> Param.F32;
                    case "u64", "s64" -> isPointer(body, p.group(2)) ? Param.PTR : Param.I64;
                    default -> throw new AssertionError(names.get(q) + ": unexpected parameter type ." + p.group(1));
                });
            }
            out.put(names.get(q), kinds);
        }
        return out;
    }

    private static boolean isPointer(String body, String param) {
        Matcher ld = Pattern.compile("ld\\.param\\.u64\\s+(%rd\\d+),\\s*\\[" + param + "\\]").matcher(body);
        while (ld.find()) {
            if (Pattern.compile("cvta\\.to\\.global\\.u64\\s+%rd\\d+,\\s*" + Pattern.quote(ld.group(1)) + "\\b")
                    .matcher(body).find()) {
                return true;
            }
        }
        return false;
    }

    @Test
    void everyKernelHasAMatchingEntryInTheCommittedPtx() throws IOException {
        Map<String, Map<String, List<Param>>> modules = new HashMap<>();
        for (KernelSpec k : CudaActivationOps.KERNELS) {
            Map<String, List<Param>> entries = modules.get(k.module());
            if (entries == null) {
                entries = entries(ptx(k.module()));
                modules.put(k.module(), entries);
            }
            List<Param> declared = entries.get(k.name());
            assertNotNull(declared, k.module() + ".ptx has no .entry " + k.name());
            assertEquals(k.params(), declared, k.name() + ": the spec's parameters differ from the PTX .entry");
        }
        int entries = modules.values().stream().mapToInt(Map::size).sum();
        assertEquals(CudaActivationOps.KERNELS.size(), entries, "every .entry of activation/sparse.ptx has a spec");
    }

    @Test
    void theParserTellsPointersFromCountsAndCatchesAMismatch() {
        String ptx = """
                .visible .entry k(
                \t.param .u64 k_param_0,
                \t.param .u64 k_param_1,
                \t.param .f32 k_param_2
                )
                {
                \tld.param.u64 \t%rd1, [k_param_0];
                \tld.param.u64 \t%rd2, [k_param_1];
                \tcvta.to.global.u64 \t%rd3, %rd1;
                }
                """;
        assertEquals(List.of(Param.PTR, Param.I64, Param.F32), entries(ptx).get("k"));
        KernelSpec wrong = KernelSpec.of("x", "k", Param.PTR, Param.PTR, Param.F32);
        assertTrue(!wrong.params().equals(entries(ptx).get("k")), "a pointer where PTX has a count must not match");
    }

    @Test
    void sourcesDeclareEachKernelExternC() throws IOException {
        Path src = Path.of("src/main/cuda");
        for (KernelSpec k : CudaActivationOps.KERNELS) {
            String cu = Files.readString(src.resolve(k.module() + ".cu"));
            assertTrue(cu.contains("extern \"C\" __global__ void " + k.name() + "("),
                    k.module() + ".cu does not declare extern \"C\" __global__ " + k.name());
        }
    }
}
