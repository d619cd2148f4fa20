package dev.saetrain.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import dev.saetrain.error.UsageException;
import dev.saetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Builds {@code index.html}, one offline page for every study folder under an analysis directory: every folder that
 * holds study files becomes a section titled by its path ({@code feature-stats/x4-k8}); its {@code summary.json} is a
 * table of the headline numbers (arrays of objects as sub-tables, long number arrays such as histograms summarised),
 * each CSV is shown as its first {@value #CSV_ROWS} rows with a link to the whole file, each PNG as an image. The
 * files are copied under {@code report/files/}, so the report folder stands alone (no network, no absolute path).
 * Only PNG, CSV and JSON files are shown and copied, so folders of {@code .npy} shards alone (the synthetic study's
 * {@code synthetic-baseline/}, {@code synthetic-structured/}, {@code codes/}) are neither sections nor copied.
 * Studies written by other code (logit lens, synthetic activations) appear without any wiring, as long as they write
 * into their own folder under the analysis directory.
 *
 * <p>The page carries a small script that, once loaded, checks that every image decoded and records the result in
 * {@code <p id="image-check" data-total=".." data-failed="..">}; {@code .ci/check-report.sh} reads it back from
 * headless Chromium.
 */
public final class Report {
    /** Rows of a CSV shown in the page. */
    public static final int CSV_ROWS = 20;
    /** The report's page. */
    public static final String INDEX = "index.html";
    private static final String FILES = "files";
    private static final Set<String> SHOWN = Set.of(".png", ".csv", ".json");

    private Report() {
    }

    /**
     * Writes {@code reportDir/index.html} and {@code reportDir/files/} from the study folders under
     * {@code analysisDir} (a {@code reportDir} inside it is skipped). A previous report there is replaced; a
     * {@code reportDir} holding anything else is refused. Returns the number of sections.
     */
    public static int build(Path analysisDir, Path reportDir, String title) throws IOException {
        Path root = analysisDir.toAbsolutePath().normalize();
        Path out = reportDir.toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw new UsageException(analysisDir + " is not a directory; run 'sae-train analyze' first");
        }
        prepare(out);
        Map<Path, List<Path>> sections = new TreeMap<>(Comparator.comparing(Path::toString));
        try (Stream<Path> walk = Files.walk(root)) {
            walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                    .filter(p -> !p.startsWith(out))
                    .filter(p -> !p.getFileName().toString().startsWith("."))
                    .filter(p -> SHOWN.contains(extension(p)))
                    .forEach(p -> sections.computeIfAbsent(root.relativize(p.getParent()), k -> new ArrayList<>()).add(p));
        }
        StringBuilder toc = new StringBuilder("<ul>\n");
        StringBuilder body = new StringBuilder();
        int id = 0;
        for (Map.Entry<Path, List<Path>> e : sections.entrySet()) {
            String name = e.getKey().toString().isEmpty() ? "(top level)" : e.getKey().toString().replace('\\', '/');
            String anchor = "s" + id++;
            toc.append("<li><a href=\"#").append(anchor).append("\">").append(esc(name)).append("</a></li>\n");
            body.append("<section id=\"").append(anchor).append("\">\n<h2>").append(esc(name)).append("</h2>\n");
            List<Path> files = new ArrayList<>(e.getValue());
            files.sort(Comparator.comparing((Path p) -> order(p)).thenComparing(p -> p.getFileName().toString()));
            for (Path f : files) {
                String rel = root.relativize(f).toString().replace('\\', '/');
                Path copy = out.resolve(FILES).resolve(rel);
                byte[] bytes = Files.readAllBytes(f);
                AtomicFiles.write(copy, o -> o.write(bytes));
                String href = FILES + "/" + urlPath(rel);
                String fname = f.getFileName().toString();
                switch (extension(f)) {
                    case ".png" -> body.append("<figure><img src=\"").append(esc(href)).append("\" alt=\"")
                            .append(esc(rel)).append("\"><figcaption>").append(esc(fname)).append("</figcaption></figure>\n");
                    case ".csv" -> body.append(csvTable(new String(bytes, StandardCharsets.UTF_8), fname, href));
                    default -> {
                        if (fname.equals(StudyFiles.SUMMARY)) {
                            body.append("<h3>summary</h3>\n").append(jsonTable(StudyFiles.JSON.readTree(bytes)));
                        }
                        body.append("<p class=\"file\"><a href=\"").append(esc(href)).append("\">").append(esc(fname))
                                .append("</a></p>\n");
                    }
                }
            }
            body.append("</section>\n");
        }
        toc.append("</ul>\n");
        String html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + esc(title)
                + "</title>\n<style>\n" + STYLE + "</style>\n</head>\n<body>\n<h1>" + esc(title) + "</h1>\n"
                + "<p>Generated by sae-train on " + Instant.now().truncatedTo(ChronoUnit.SECONDS) + " from "
                + esc(root.getFileName() == null ? root.toString() : root.getFileName().toString()) + "/ ("
                + sections.size() + " sections).</p>\n"
                + (sections.isEmpty() ? "<p>No study output found.</p>\n" : toc.toString()) + body
                + "<p id=\"image-check\"></p>\n<script>\n" + CHECK_SCRIPT + "</script>\n</body>\n</html>\n";
        AtomicFiles.writeString(out.resolve(INDEX), html);
        return sections.size();
    }

    /** Summary first, then plots, then tables, then other JSON. */
    private static int order(Path p) {
        if (p.getFileName().toString().equals(StudyFiles.SUMMARY)) {
            return 0;
        }
        return switch (extension(p)) {
            case ".png" -> 1;
            case ".csv" -> 2;
            default -> 3;
        };
    }

    private static void prepare(Path out) throws IOException {
        if (Files.exists(out, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(out, LinkOption.NOFOLLOW_LINKS)) {
                throw new UsageException(out + " exists and is not a directory; remove it or give another"
                        + " report folder");
            }
            try (Stream<Path> s = Files.list(out)) {
                for (Path p : s.toList()) {
                    String n = p.getFileName().toString();
                    if (!n.equals(INDEX) && !n.equals(FILES) && !n.startsWith(".")) {
                        throw new UsageException("refusing to replace the report in " + out + ": it holds "
                                + n + ", which a report does not write; move it away or give another report folder");
                    }
                }
            }
            Path files = out.resolve(FILES);
            if (Files.exists(files, LinkOption.NOFOLLOW_LINKS)) {
                try (Stream<Path> walk = Files.walk(files)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
        }
        Files.createDirectories(out);
    }

    private static String csvTable(String text, String fname, String href) {
        List<List<String>> rows = parseCsv(text);
        StringBuilder sb = new StringBuilder("<h3>").append(esc(fname)).append("</h3>\n");
        if (rows.isEmpty()) {
            return sb.append("<p>(empty)</p>\n").toString();
        }
        int data = rows.size() - 1;
        sb.append("<p class=\"file\">").append(data).append(" rows").append(data > CSV_ROWS ? ", first " + CSV_ROWS
                + " shown" : "").append("; <a href=\"").append(esc(href)).append("\">").append(esc(fname))
                .append("</a></p>\n<table>\n<tr>");
        for (String h : rows.get(0)) {
            sb.append("<th>").append(esc(h)).append("</th>");
        }
        sb.append("</tr>\n");
        for (List<String> r : rows.subList(1, Math.min(rows.size(), CSV_ROWS + 1))) {
            sb.append("<tr>");
            for (String c : r) {
                sb.append("<td>").append(esc(shortNumber(c))).append("</td>");
            }
            sb.append("</tr>\n");
        }
        return sb.append("</table>\n").toString();
    }

    private static String jsonTable(JsonNode node) {
        if (!node.isObject()) {
            return "<p>" + esc(node.toString()) + "</p>\n";
        }
        StringBuilder sb = new StringBuilder("<table>\n");
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            sb.append("<tr><th>").append(esc(e.getKey())).append("</th><td>").append(jsonCell(e.getValue()))
                    .append("</td></tr>\n");
        }
        return sb.append("</table>\n").toString();
    }

    private static String jsonCell(JsonNode v) {
        if (v.isObject()) {
            return jsonTable(v);
        }
        if (v.isArray()) {
            if (v.size() > 0 && v.get(0).isObject()) {
                StringBuilder sb = new StringBuilder();
                for (JsonNode o : v) {
                    sb.append(jsonTable(o));
                }
                return sb.toString();
            }
            if (v.size() > 12) {
                return "[" + v.size() + " values]";
            }
            List<String> parts = new ArrayList<>();
            v.forEach(x -> parts.add(shortNumber(x.asText())));
            return esc("[" + String.join(", ", parts) + "]");
        }
        return esc(v.isNumber() ? shortNumber(v.asText()) : v.asText());
    }

    /** A number with many digits as 6 significant ones; anything else as it is. */
    static String shortNumber(String s) {
        if (s.isEmpty() || !(Character.isDigit(s.charAt(0)) || s.charAt(0) == '-') || s.indexOf('.') < 0
                && s.indexOf('E') < 0) {
            return s;
        }
        try {
            String g = String.format(Locale.ROOT, "%.6g", Double.parseDouble(s));
            return g.replaceAll("(\\.\\d*?)0+(e|$)", "$1$2").replaceAll("\\.(e|$)", "$1");
        } catch (NumberFormatException e) {
            return s; // not a number after all (a name such as 1.0-rc); shown as written
        }
    }

    /** RFC 4180 fields: commas separate, double quotes enclose, "" inside quotes is one quote. */
    static List<List<String>> parseCsv(String text) {
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    f.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    f.append(c);
                }
            } else if (c == '"') {
                quoted = true;
                any = true;
            } else if (c == ',') {
                row.add(f.toString());
                f.setLength(0);
                any = true;
            } else if (c == '\n' || c == '\r') {
                if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                    i++;
                }
                if (any || f.length() > 0) {
                    row.add(f.toString());
                    rows.add(row);
                }
                row = new ArrayList<>();
                f.setLength(0);
                any = false;
            } else {
                f.append(c);
            }
        }
        if (any || f.length() > 0) {
            row.add(f.toString());
            rows.add(row);
        }
        return rows;
    }

    private static String urlPath(String rel) {
        StringBuilder sb = new StringBuilder();
        for (byte b : rel.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (c < 128 && (Character.isLetterOrDigit(c) || "/-_.~".indexOf(c) >= 0)) {
                sb.append(c);
            } else {
                sb.append(String.format(Locale.ROOT, "%%%02X", b & 0xff));
            }
        }
        return sb.toString();
    }

    private static String extension(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = n.lastIndexOf('.');
        return dot < 0 ? "" : n.substring(dot);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static final String STYLE = """
            body { font-family: sans-serif; margin: 2em; max-width: 1100px; color: #222; }
            h2 { border-top: 1px solid #ccc; padding-top: 0.8em; }
            table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; }
            th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
            th { background: #f4f4f4; }
            figure { display: inline-block; margin: 0.5em; }
            img { max-width: 100%; border: 1px solid #eee; }
            p.file { font-size: 0.85em; color: #555; }
            """;

    /** Records whether every image decoded; read back by .ci/check-report.sh through headless Chromium. */
    private static final String CHECK_SCRIPT = """
            window.addEventListener('load', function () {
              var imgs = document.images, failed = [];
              for (var i = 0; i < imgs.length; i++) {
                if (!imgs[i].complete || imgs[i].naturalWidth === 0) { failed.push(imgs[i].getAttribute('src')); }
              }
              var p = document.getElementById('image-check');
              p.setAttribute('data-total', String(imgs.length));
              p.setAttribute('data-failed', String(failed.length));
              p.textContent = 'images: ' + (imgs.length - failed.length) + ' of ' + imgs.length + ' loaded'
                + (failed.length ? '; failed: ' + failed.join(' ') : '');
            });
            """;
}
