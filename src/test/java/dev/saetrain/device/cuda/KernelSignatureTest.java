package dev.saetrain.device.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every kernel the Java side launches ({@link KernelCatalog#all()}) against the committed PTX, with no GPU: the
 * entry exists in its module, with the same parameter count, order and kinds (see {@link PtxSignatures} for how a
 * pointer is told from a 64-bit scalar in nvcc 13's PTX). Also fails on a dead kernel: a PTX entry no spec names
 * (a kernel that is compiled and shipped but never launched, or launched under another name).
 */
class KernelSignatureTest {
    static final Path PTX_DIR = Path.of("src/main/resources/dev/saetrain/device/cuda/kernels");

    private static Map<String, Map<String, List<PtxSignatures.PtxParam>>> committed() throws IOException {
        Map<String, Map<String, List<PtxSignatures.PtxParam>>> byModule = new HashMap<>();
        try (Stream<Path> files = Files.list(PTX_DIR)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".ptx")).toList()) {
                String module = p.getFileName().toString().replaceFirst("\\.ptx$", "");
                byModule.put(module, PtxSignatures.parse(Files.readString(p)));
            }
        }
        return byModule;
    }

    @Test
    void everyCatalogKernelMatchesItsCommittedPtxEntry() throws IOException {
        Map<String, Map<String, List<PtxSignatures.PtxParam>>> ptx = committed();
        List<KernelSpec> all = KernelCatalog.all();
        assertFalse(all.isEmpty(), "the catalog lists no kernel");
        assertTrue(all.containsAll(CudaDevice.KERNELS), "KernelCatalog.all() must include CudaDevice.KERNELS");
        List<String> bad = new ArrayList<>();
        for (KernelSpec k : all) {
            Map<String, List<PtxSignatures.PtxParam>> entries = ptx.get(k.module());
            if (entries == null) {
                bad.add(k + ": no committed " + PTX_DIR.resolve(k.module() + ".ptx") + " (run make -f kernels.mk)");
            } else {
                bad.addAll(PtxSignatures.problems(k, entries));
            }
        }
        assertTrue(bad.isEmpty(), String.join("\n", bad));
    }

    @Test
    void noCommittedEntryIsMissingFromTheCatalog() throws IOException {
        Set<String> launched = KernelCatalog.all().stream().map(k -> k.module() + ":" + k.name())
                .collect(Collectors.toSet());
        Set<String> dead = new TreeSet<>();
        committed().forEach((module, entries) -> entries.keySet().forEach(name -> {
            if (!launched.contains(module + ":" + name)) {
                dead.add(module + ".ptx:" + name);
            }
        }));
        assertTrue(dead.isEmpty(), "PTX entries no KernelSpec names (dead kernels, or a spec with another name): "
                + dead);
    }

    /**
     * The committed PTX is what kernels.mk regenerates on any checkout: compute_80, no line info (it names source
     * paths), and no {@code _INTERNAL_<hash>} symbols, which nvcc derives from the source file's absolute path (a
     * {@code static} function holding a {@code __shared__} array makes one).
     */
    @Test
    void committedPtxTargetsComputeEightyAndDependsOnNoPath() throws IOException {
        try (Stream<Path> files = Files.list(PTX_DIR)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".ptx")).toList()) {
                String ptx = Files.readString(p);
                assertTrue(ptx.contains(".target sm_80"), p + " is not built for compute_80");
                assertFalse(ptx.contains("_INTERNAL_"), p + " holds a path-hashed internal symbol");
                assertFalse(java.util.regex.Pattern.compile("^\\s*\\.(?:loc|file)\\s", java.util.regex.Pattern.MULTILINE)
                        .matcher(ptx).find(), p + " was built with line info");
            }
        }
    }

    @Test
    void catalogNamesAreUnique() {
        List<String> names = KernelCatalog.all().stream().map(k -> k.module() + ":" + k.name()).toList();
        assertEquals(names.size(), new TreeSet<>(names).size(), "a kernel listed twice: " + names);
    }

    // The checker itself, on a hand-written PTX snippet with one entry of each parameter kind.

    private static final String SNIPPET = """
            .visible .entry demo(
            	.param .u64 demo_param_0,
            	.param .u64 demo_param_1,
            	.param .u32 demo_param_2,
            	.param .f32 demo_param_3,
            	.param .u64 .ptr .global .align 4 demo_param_4
            )
            {
            	ld.param.u64 	%rd1, [demo_param_0];
            	ld.param.u64 	%rd2, [demo_param_1];
            	ld.param.u32 	%r1, [demo_param_2];
            	ld.param.f32 	%f1, [demo_param_3];
            	cvta.to.global.u64 	%rd3, %rd1;
            	add.s64 	%rd4, %rd3, %rd2;
            	ret;
            }
            .visible .entry other(
            	.param .u64 other_param_0
            )
            {
            	ret;
            }
            """;

    @Test
    void parserReadsNvccStyleEntries() {
        var entries = PtxSignatures.parse(SNIPPET);
        assertEquals(Set.of("demo", "other"), entries.keySet());
        var demo = entries.get("demo");
        assertEquals(5, demo.size());
        assertTrue(demo.get(0).isPointer());
        assertTrue(demo.get(1).isScalar64());
        assertEquals("u32", demo.get(2).type());
        assertEquals("f32", demo.get(3).type());
        assertTrue(demo.get(4).isPointer(), ".ptr marks a pointer even if unused");
        assertFalse(entries.get("other").get(0).loaded());
    }

    @Test
    void matchingSpecPasses() {
        var entries = PtxSignatures.parse(SNIPPET);
        KernelSpec ok = KernelSpec.of("demo", "demo", Param.PTR, Param.I64, Param.I32, Param.F32, Param.PTR);
        assertEquals(List.of(), PtxSignatures.problems(ok, entries));
        // An unused .u64 parameter may be either.
        assertEquals(List.of(), PtxSignatures.problems(KernelSpec.of("demo", "other", Param.I64), entries));
        assertEquals(List.of(), PtxSignatures.problems(KernelSpec.of("demo", "other", Param.PTR), entries));
    }

    @Test
    void deliberatelyWrongSpecsAreCaught() {
        var entries = PtxSignatures.parse(SNIPPET);
        Map<String, KernelSpec> wrong = Map.of(
                "pointer declared as I64", KernelSpec.of("demo", "demo", Param.I64, Param.I64, Param.I32, Param.F32, Param.PTR),
                "scalar declared as PTR", KernelSpec.of("demo", "demo", Param.PTR, Param.PTR, Param.I32, Param.F32, Param.PTR),
                "I32 and F32 swapped", KernelSpec.of("demo", "demo", Param.PTR, Param.I64, Param.F32, Param.I32, Param.PTR),
                "one parameter short", KernelSpec.of("demo", "demo", Param.PTR, Param.I64, Param.I32, Param.F32),
                "misspelt entry", KernelSpec.of("demo", "dem0", Param.PTR));
        wrong.forEach((why, spec) -> assertFalse(PtxSignatures.problems(spec, entries).isEmpty(), why + " passed"));
        String msg = PtxSignatures.problems(wrong.get("pointer declared as I64"), entries).get(0);
        assertTrue(msg.contains("parameter 0") && msg.contains("I64") && msg.contains("pointer"), msg);
    }
}
