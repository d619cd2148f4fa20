package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bench's output contract (not its speed): the table, then one JSON line with the documented fields. */
class BenchCommandTest {
    @Test
    void printsAPhaseTableAndOneJsonLine() throws Exception {
        for (String arch : new String[] {"topk", "relu", "matryoshka"}) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "bench", "--arch", arch,
                    "--d", "48", "--expansion", "3", "--k", "5", "--batch", "33", "--steps", "2", "--warmup-steps", "1",
                    "--device", "cpu", "--threads", "2");
            assertEquals(0, code, err.toString());
            String[] lines = out.toString().strip().split("\n");
            JsonNode json = new ObjectMapper().readTree(lines[lines.length - 1]);
            assertEquals(arch, json.get("arch").asText());
            assertEquals(144, json.get("n_latents").asInt());
            assertTrue(json.get("tokens_per_s").asDouble() > 0);
            assertTrue(json.get("encode_gflops").asDouble() > 0);
            assertTrue(json.get("gemm_gflops").asDouble() > 0);
            assertEquals(json.get("gemm_gflops").asDouble() / 1e3, json.get("gemm_tflops").asDouble(), 0.006);
            assertEquals(33 / json.get("tokens_per_s").asDouble() * 1e3, json.get("ms_step").asDouble(),
                    0.01 * json.get("ms_step").asDouble() + 0.001);
            double flops = 2.0 * 33 * 144 * 48;
            assertEquals(flops / (json.get("gemm_gflops").asDouble() * 1e6), json.get("ms_gemm_alone").asDouble(),
                    0.01 * json.get("ms_gemm_alone").asDouble() + 0.001);
            assertTrue(out.toString().contains("TFLOP/s"), out.toString());
            assertTrue(out.toString().contains("encode"), out.toString());
        }
    }

    /** Runs `bench ARGS --device cpu --threads 2` (output into out), asserts exit 0, returns its JSON line. */
    private static JsonNode benchJson(java.util.List<String> args, StringWriter out) throws Exception {
        java.util.List<String> all = new java.util.ArrayList<>(java.util.List.of("bench"));
        all.addAll(args);
        all.addAll(java.util.List.of("--device", "cpu", "--threads", "2"));
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), all.toArray(String[]::new));
        assertEquals(0, code, err.toString());
        String[] lines = out.toString().strip().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    /**
     * --l0 sets the encoder bias (gated: the gate's) so that about that many latents fire per row, above jumprelu's
     * threshold; without it half do. The density holds over the steps: at 128 latents jumprelu's default LR (topk's
     * width rule, 2.3e-3) moves its L0 past the sparse switch (1/24) within a step or two on the repeated batch, and
     * gated's and relu's LRs move theirs, unless the bench's steps run at LR 0.
     */
    @Test
    void l0OptionStartsInTheSparseRegime() throws Exception {
        for (String arch : new String[] {"relu", "jumprelu", "gated"}) {
            l0OptionStartsInTheSparseRegime(arch);
        }
        StringWriter err = new StringWriter();
        assertEquals(2, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "bench",
                "--arch", "topk", "--l0", "4", "--d", "16", "--batch", "8", "--device", "cpu"));
        assertTrue(err.toString().contains("--l0 works with --arch relu"), err.toString());
    }

    private static void l0OptionStartsInTheSparseRegime(String arch) throws Exception {
        int d = 32;
        int expansion = 4;
        int m = d * expansion;
        for (Integer target : new Integer[] {null, 3}) {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("--arch", arch, "--d",
                    String.valueOf(d), "--expansion", String.valueOf(expansion), "--batch", "512", "--steps", "8",
                    "--warmup-steps", "4"));
            if (target != null) {
                args.addAll(java.util.List.of("--l0", target.toString()));
            }
            StringWriter out = new StringWriter();
            JsonNode json = benchJson(args, out);
            double l0 = json.get("l0").asDouble();
            if (target == null) {
                assertTrue(l0 > 0.3125 * m && l0 < 0.6875 * m,
                        arch + ", random init: about half of " + m + " latents fire, got " + l0);
                assertTrue(json.get("target_l0") == null);
                assertTrue(json.get("lr").asDouble() > 0, out.toString());
            } else {
                assertTrue(l0 > 1.5 && l0 < 6, arch + ": --l0 3 gave L0 " + l0 + " over 8 steps after 4");
                assertEquals(3, json.get("target_l0").asInt());
                assertEquals(0, json.get("dense_steps").asInt(), out.toString());
                assertEquals(0.0, json.get("lr").asDouble(), out.toString());
            }
        }
    }

    /**
     * --dead-tokens batch: the bench repeats one batch, so the latents it does not fire are dead from the second step
     * and AuxK runs (its phase appears, "dead" counts them); by default no latent is dead.
     */
    @Test
    void deadTokensOptionTimesAuxK() throws Exception {
        for (String deadTokens : new String[] {null, "64"}) {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("--arch", "topk", "--d", "32",
                    "--expansion", "16", "--k", "4", "--batch", "64", "--steps", "2", "--warmup-steps", "2"));
            if (deadTokens != null) {
                args.addAll(java.util.List.of("--dead-tokens", deadTokens));
            }
            StringWriter out = new StringWriter();
            JsonNode json = benchJson(args, out);
            double dead = json.get("dead").asDouble();
            if (deadTokens == null) {
                assertEquals(0, dead, 0.0, out.toString());
                assertTrue(json.get("ms_auxk") == null, out.toString());
            } else {
                // 64 rows x 4 picks cannot fire all 512 latents.
                assertTrue(dead >= 512 - 64 * 4, "dead " + dead);
                assertTrue(json.get("ms_auxk").asDouble() > 0, out.toString());
            }
        }
        StringWriter err = new StringWriter();
        assertEquals(2, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "bench",
                "--dead-tokens", "0", "--d", "16", "--batch", "8", "--device", "cpu"));
        assertTrue(err.toString().contains("--dead-tokens must be >= 1"), err.toString());
    }

    @Test
    void streamModePrintsRatesAndOneJsonLine(@TempDir Path tmp) throws Exception {
        Path shards = tmp.resolve("shards");
        StringWriter synthErr = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(synthErr, true), "synth",
                shards.toString(), "--d", "24", "--features", "64", "--rows", "3000", "--dtype", "f16"),
                synthErr.toString());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "bench", "--stream",
                shards.toString(), "--batch", "100", "--seconds", "0.3");
        assertEquals(0, code, err.toString());
        String text = out.toString();
        String[] lines = text.strip().split("\n");
        JsonNode json = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertEquals("stream", json.get("mode").asText());
        assertEquals("F16", json.get("dtype").asText());
        assertEquals(24, json.get("d_in").asInt());
        assertEquals(100, json.get("batch").asInt());
        assertTrue(json.get("batches").asLong() > 0, text);
        double rowsPerS = json.get("rows_per_s").asDouble();
        assertTrue(rowsPerS > 0, text);
        // GB/s is fp32 bytes of the rows delivered: rows/s * d * 4.
        assertEquals(rowsPerS * 24 * 4 / 1e9, json.get("stream_gb_per_s").asDouble(), 1e-3);
        assertTrue(text.contains("rows/s") && text.contains("GB/s") && text.contains("F16"), text);
    }
}
