package dev.saetrain.device.cuda;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code .visible .entry} signatures of a PTX file, and the comparison of a {@link KernelSpec} with them.
 *
 * <p>nvcc 13 declares every pointer parameter as plain {@code .param .u64} (no {@code .ptr}), exactly like a
 * {@code long long}; what tells them apart is the body: a pointer is converted with {@code cvta.to.global.u64}
 * before it is dereferenced. So a parameter counts as a pointer when it carries {@code .ptr} or its loaded
 * register goes through {@code cvta.to.global}; a {@code .u64} parameter that is loaded but never converted is
 * a 64-bit scalar; one never loaded (unused) matches either.
 */
final class PtxSignatures {
    /** One parameter: its PTX type (u64, u32, s32, f32, ...) and what its use says. */
    record PtxParam(String type, boolean declaredPtr, boolean loaded, boolean cvta) {
        boolean isPointer() {
            return type.equals("u64") && (declaredPtr || cvta);
        }

        boolean isScalar64() {
            return (type.equals("u64") || type.equals("s64")) && !declaredPtr && loaded && !cvta;
        }
    }

    private static final Pattern ENTRY = Pattern.compile("\\.visible\\s+\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile(
            "\\.param\\s+\\.(\\w+)\\s+((?:\\.(?:ptr|global|const|local|shared)\\s+)*)(?:\\.align\\s+\\d+\\s+)?(\\w+)");

    private PtxSignatures() {
    }

    /** Entry name -> parameters in order, for every {@code .visible .entry} of the PTX text. */
    static Map<String, List<PtxParam>> parse(String ptx) {
        Map<String, List<PtxParam>> out = new LinkedHashMap<>();
        Matcher e = ENTRY.matcher(ptx);
        List<int[]> spans = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<String> heads = new ArrayList<>();
        while (e.find()) {
            spans.add(new int[] {e.start(), e.end()});
            names.add(e.group(1));
            heads.add(e.group(2));
        }
        for (int q = 0; q < names.size(); q++) {
            String body = ptx.substring(spans.get(q)[1], q + 1 < spans.size() ? spans.get(q + 1)[0] : ptx.length());
            List<PtxParam> params = new ArrayList<>();
            Matcher p = PARAM.matcher(heads.get(q));
            while (p.find()) {
                String name = p.group(3);
                Matcher ld = Pattern.compile("ld\\.param\\.\\w+\\s+(%\\w+),\\s*\\[" + name + "\\]").matcher(body);
                boolean loaded = false;
                boolean cvta = false;
                while (ld.find()) {
                    loaded = true;
                    String reg = Pattern.quote(ld.group(1));
                    cvta |= Pattern.compile("cvta\\.to\\.global\\.u64\\s+%\\w+,\\s*" + reg + "\\s*;").matcher(body).find();
                    cvta |= addressesGlobalMemory(body, ld.group(1));
                }
                params.add(new PtxParam(p.group(1), p.group(2).contains(".ptr"), loaded, cvta));
            }
            out.put(names.get(q), params);
        }
        return out;
    }

    private static final Pattern MOVE = Pattern.compile("^\\s*(?:add\\.s64|add\\.u64|mov\\.b64|mov\\.u64)\\s+(%\\w+),\\s*([^;]*);",
            Pattern.MULTILINE);
    private static final Pattern MEMORY = Pattern.compile(
            "^\\s*(?:ld|st|atom|red)\\.global[^\\[]*\\[(%\\w+)(?:\\+-?\\d+)?\\]", Pattern.MULTILINE);

    /**
     * Whether {@code reg} (a parameter's loaded value), or a register derived from it by 64-bit adds and moves,
     * is the address of a global load, store or atomic (following the first source operand of each add or move). nvcc 13 knows kernel parameters point to global memory and
     * often uses them in {@code ld.global} without a {@code cvta.to.global} first (generic and global addresses
     * coincide), so this is the other mark of a pointer. A {@code long long} scalar reaches an address only after a
     * multiply or shift, which the derivation does not follow.
     */
    static boolean addressesGlobalMemory(String body, String reg) {
        java.util.Set<String> derived = new java.util.HashSet<>();
        derived.add(reg);
        boolean grew = true;
        while (grew) {
            grew = false;
            Matcher mv = MOVE.matcher(body);
            while (mv.find()) {
                if (derived.contains(mv.group(1))) {
                    continue;
                }
                // The base is the first source (nvcc writes base + offset); following the offset operand too
                // would mark registers a loop reassigns, since PTX registers are not single-assignment.
                if (derived.contains(mv.group(2).split(",")[0].trim())) {
                    derived.add(mv.group(1));
                    grew = true;
                }
            }
        }
        Matcher mem = MEMORY.matcher(body);
        while (mem.find()) {
            if (derived.contains(mem.group(1))) {
                return true;
            }
        }
        return false;
    }

    /** What is wrong with {@code spec} against the entries of its module (empty when it matches). */
    static List<String> problems(KernelSpec spec, Map<String, List<PtxParam>> entries) {
        List<String> bad = new ArrayList<>();
        List<PtxParam> ps = entries.get(spec.name());
        if (ps == null) {
            bad.add(spec + ": no .entry " + spec.name() + " in " + spec.module() + ".ptx");
            return bad;
        }
        if (ps.size() != spec.params().size()) {
            bad.add(spec + ": the PTX entry has " + ps.size() + " parameters, the spec " + spec.params().size());
            return bad;
        }
        for (int i = 0; i < ps.size(); i++) {
            PtxParam p = ps.get(i);
            Param want = spec.params().get(i);
            boolean ok = switch (want) {
                case PTR -> p.type().equals("u64") && !p.isScalar64();
                case I64 -> (p.type().equals("u64") || p.type().equals("s64")) && !p.isPointer();
                case I32 -> p.type().equals("u32") || p.type().equals("s32");
                case F32 -> p.type().equals("f32");
            };
            if (!ok) {
                String seen = p.isPointer() ? "a pointer (." + p.type() + ", dereferenced)"
                        : p.isScalar64() ? "a 64-bit scalar (." + p.type() + ", never dereferenced)" : "." + p.type();
                bad.add(spec + ": parameter " + i + " is " + want + " in the spec but " + seen + " in the PTX");
            }
        }
        return bad;
    }
}
