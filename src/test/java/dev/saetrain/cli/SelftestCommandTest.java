package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.device.Device;
import dev.saetrain.device.cuda.CudaDevice;
import dev.saetrain.selftest.OpCatalog;
import dev.saetrain.selftest.StepParity;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code sae-train selftest --device cpu --quick}: passes on a correct CpuDevice, names every Device op, writes the
 * same as JSON; fails (exit 1, the op's line FAIL) when one op of the device under test is wrong; and without a GPU,
 * {@code --device cuda} stops with one line and exit 2.
 */
class SelftestCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void cpuQuickSelftestPassesAndCoversEveryDeviceOp() throws IOException {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        Path json = tmp.resolve("selftest.json");
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "selftest", "--device", "cpu",
                "--quick", "--threads", "2", "--json", json.toString());
        assertEquals(0, code, out + "\n" + err);
        assertTrue(out.toString().contains("selftest: PASS"), out.toString());
        assertFalse(out.toString().contains("FAIL "), out.toString());

        JsonNode root = JSON.readTree(json.toFile());
        assertTrue(root.get("passed").asBoolean());
        assertEquals("cpu", root.get("device").asText());
        for (String key : new String[] {"java", "os", "cpu", "threads", "device"}) {
            assertTrue(root.at("/environment/" + key).isTextual(), "environment." + key);
        }
        Set<String> named = new HashSet<>();
        for (JsonNode op : root.get("ops")) {
            named.add(op.get("name").asText());
            assertEquals("PASS", op.get("status").asText(), op.toString());
            assertTrue(op.get("comparisons").asInt() > 0, op.toString());
            assertTrue(op.get("worst_err").asDouble() <= op.get("tolerance").asDouble(), op.toString());
            assertTrue(op.get("shape").asText().startsWith("[batch ") || op.get("shape").asText().equals("fixed"));
        }
        for (JsonNode op : root.get("not_compared")) {
            named.add(op.get("name").asText());
            assertFalse(op.get("reason").asText().isBlank());
        }
        for (String op : OpCatalog.deviceOps()) {
            assertTrue(named.contains(op), "Device op " + op + " missing from the selftest's JSON");
        }
        assertEquals(StepParity.ARCHITECTURES.size(), root.get("step_parity").size());
        for (JsonNode s : root.get("step_parity")) {
            assertEquals("PASS", s.get("status").asText(), s.toString());
        }
        assertEquals("PASS", root.at("/e2e/status").asText(), root.get("e2e").toString());
        assertTrue(root.at("/e2e/mean_max_cos").asDouble() >= 0.9);
        assertEquals(StepParity.ARCHITECTURES.size(), root.get("bench").size());
        for (JsonNode b : root.get("bench")) {
            assertTrue(b.get("tokens_per_s").asDouble() > 0, b.toString());
        }
    }

    /** A CpuDevice whose dot product is off by one part in 10^4 (the check's tolerance is 1e-6 relative). */
    private static Device wrongDot(Device real) {
        return (Device) Proxy.newProxyInstance(Device.class.getClassLoader(), new Class<?>[] {Device.class},
                (proxy, m, args) -> {
                    try {
                        Object r = m.invoke(real, args);
                        return m.getName().equals("dot") ? (Double) r * (1 + 1e-4) : r;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void aWrongOpIsReportedAndTheExitCodeIsOne() throws IOException {
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(new SelftestCommand(SelftestCommandTest::wrongDot));
        cl.setOut(new PrintWriter(out, true));
        Path json = tmp.resolve("wrong.json");
        int code = cl.execute("--device", "cpu", "--quick", "--threads", "2", "--json", json.toString());
        assertEquals(1, code, out.toString());
        String text = out.toString();
        assertTrue(text.matches("(?s).*\\nFAIL  dot +\\[batch .*dot: 1 of 1 elements differ.*"), text);
        assertTrue(text.contains("PASS  sparseDecode "), text);
        assertTrue(text.contains("selftest: FAIL"), text);
        JsonNode root = JSON.readTree(json.toFile());
        assertFalse(root.get("passed").asBoolean());
        for (JsonNode op : root.get("ops")) {
            String status = op.get("status").asText();
            if (op.get("name").asText().equals("dot")) {
                assertEquals("FAIL", status, op.toString());
            } else if (status.equals("FAIL")) {
                // Ops checked after dot in the same check are not reached; nothing else may fail.
                assertTrue(op.get("detail").asText().startsWith("not reached"), op.toString());
            }
        }
    }

    @Test
    void cudaWithoutAGpuStopsWithOneLineAndExitTwo() {
        assumeFalse(CudaDevice.probe().available(), "a usable GPU is present");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "selftest", "--device", "cuda");
        assertEquals(2, code);
        String[] lines = err.toString().trim().split("\n");
        assertEquals(1, lines.length, err.toString());
        assertTrue(lines[0].startsWith("error: --device cuda: "), lines[0]);
        assertTrue(lines[0].contains("selftest --device cpu"), lines[0]);
        assertEquals("", out.toString());
    }
}
