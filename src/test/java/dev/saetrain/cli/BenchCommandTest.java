package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

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
            assertTrue(out.toString().contains("encode"), out.toString());
        }
    }
}
