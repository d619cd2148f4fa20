package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.AtomicFiles;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {
    @TempDir
    Path tmp;

    /** analysis/{a: summary.json, t.csv (25 rows), p.png; b/sub: x.csv; report/: an older report, to be skipped}. */
    private Path studies() throws IOException {
        Path root = tmp.resolve("analysis");
        ObjectNode s = StudyFiles.object();
        s.put("sae", "x4-k8");
        s.put("fvu", 0.0123456789);
        s.set("histogram", StudyFiles.array(new double[101]));
        s.putArray("members").addObject().put("sae", "inner-name");
        StudyFiles.writeJson(root.resolve("a/summary.json"), s);
        Csv csv = new Csv("name", "value");
        for (int i = 0; i < 25; i++) {
            csv.row(i == 0 ? "x,y \"q\"" : "r" + i, i);
        }
        csv.write(root.resolve("a/t.csv"));
        Plots.histogram(root.resolve("a/p.png"), "t", "x", Histogram.of(new double[] {0.1, 0.2, 0.7}, 0, 1, 10), null);
        new Csv("k").row("v").write(root.resolve("b/sub/x.csv"));
        AtomicFiles.writeString(root.resolve("report/index.html"), "old");
        return root;
    }

    @Test
    void everyStudyFolderBecomesASectionWithItsTablesAndImages() throws IOException {
        Path root = studies();
        Path report = root.resolve("report");
        assertEquals(2, Report.build(root, report, "demo <report>"));
        String html = Files.readString(report.resolve("index.html"));
        assertTrue(html.contains("<title>demo &lt;report&gt;</title>"));
        assertTrue(html.contains("<h2>a</h2>") && html.contains("<h2>b/sub</h2>"), html);
        assertFalse(html.contains("<h2>report"), "the report folder itself is not a study");
        List<String> imgs = srcs(html);
        assertEquals(List.of("files/a/p.png"), imgs);
        assertArrayEquals(Files.readAllBytes(root.resolve("a/p.png")), Files.readAllBytes(report.resolve("files/a/p.png")));
        assertTrue(html.contains("<td>x,y &quot;q&quot;</td>"), "the quoted CSV field is one cell");
        assertTrue(html.contains("25 rows, first 20 shown"));
        assertTrue(html.contains("<td>r19</td>") && !html.contains("<td>r20</td>"));
        assertTrue(html.contains("[101 values]"));
        assertTrue(html.contains("<td>0.0123457</td>"), "numbers with many digits are shortened");
        assertTrue(html.contains("inner-name"), "arrays of objects become tables");
        assertTrue(Files.isRegularFile(report.resolve("files/b/sub/x.csv")));
        assertTrue(html.contains("id=\"image-check\""));
    }

    @Test
    void aRebuildReplacesTheOldReportAndAForeignFolderIsRefused() throws IOException {
        Path root = studies();
        Path report = tmp.resolve("report");
        AtomicFiles.writeString(report.resolve("files/stale.png"), "x");
        Report.build(root, report, "t");
        assertFalse(Files.exists(report.resolve("files/stale.png")));
        AtomicFiles.writeString(report.resolve("notes.txt"), "mine");
        UsageException e = assertThrows(UsageException.class, () -> Report.build(root, report, "t"));
        assertTrue(e.getMessage().contains("notes.txt"), e.getMessage());
    }

    @Test
    void csvParsingAndNumberShortening() {
        assertEquals(List.of(List.of("a", "b"), List.of("1,2", "x\"y"), List.of("", "z")),
                Report.parseCsv("a,b\r\n\"1,2\",\"x\"\"y\"\n,z\n"));
        assertEquals("100000", Report.shortNumber("100000"));
        assertEquals("0.123457", Report.shortNumber("0.123456789"));
        assertEquals("1", Report.shortNumber("1.0"));
        assertEquals("1e-05", Report.shortNumber("1.0E-5"));
        assertEquals("x4-k8", Report.shortNumber("x4-k8"));
    }

    /**
     * The CI check (.ci/check-report.sh) in headless Chromium: passes on a good report, fails when an image is broken.
     * Skipped where Debian's chromium is not installed.
     */
    @Test
    void chromiumCheckPassesOnAGoodReportAndFailsOnABrokenImage() throws IOException, InterruptedException {
        assumeTrue(onPath("chromium"), "chromium is not installed (apt-get install chromium); check skipped");
        Path root = studies();
        Path report = tmp.resolve("report");
        Report.build(root, report, "t");
        Files.copy(report.resolve("files/a/p.png"), report.resolve("files/a/p2.png"));
        String html = Files.readString(report.resolve("index.html"))
                .replace("<h2>b/sub</h2>", "<h2>b/sub</h2><img src=\"files/a/p2.png\" alt=\"second\">");
        Files.writeString(report.resolve("index.html"), html);
        Result ok = check(report.resolve("index.html"));
        assertEquals(0, ok.code(), ok.output());
        assertTrue(ok.output().contains("images: 2 of 2 loaded"), ok.output());
        Files.writeString(report.resolve("files/a/p2.png"), "not a png");
        Result bad = check(report.resolve("index.html"));
        assertEquals(1, bad.code(), bad.output());
        assertTrue(bad.output().contains("failed: files/a/p2.png"), bad.output());
    }

    private record Result(int code, String output) {
    }

    private static Result check(Path index) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(".ci/check-report.sh", index.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(150, TimeUnit.SECONDS), "check-report.sh timed out");
        return new Result(p.exitValue(), out);
    }

    private static boolean onPath(String exe) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, exe))) {
                return true;
            }
        }
        return false;
    }

    private static List<String> srcs(String html) {
        Matcher m = Pattern.compile("<img src=\"([^\"]+)\"").matcher(html);
        List<String> out = new java.util.ArrayList<>();
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }
}
