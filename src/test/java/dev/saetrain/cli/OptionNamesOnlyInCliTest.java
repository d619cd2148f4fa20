package dev.saetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Option names are the CLI's: no string literal in main code outside {@code cli/} spells one ({@code "--k"}); the
 * packages below name a {@link dev.saetrain.error.Setting} and {@link OptionNames} spells it. Comments are not
 * checked.
 */
class OptionNamesOnlyInCliTest {
    private static final Path MAIN = Path.of("src", "main", "java", "dev", "saetrain");
    /** "--" then a lower-case letter, not inside a word or a longer run of dashes. */
    private static final Pattern OPTION = Pattern.compile("(?<![\\w-])--[a-z]");

    @Test
    void noLiteralOutsideCliSpellsAnOption() throws IOException {
        assertTrue(Files.isDirectory(MAIN), MAIN.toAbsolutePath() + " (run from the project root)");
        List<String> found = new ArrayList<>();
        int files = 0;
        try (Stream<Path> s = Files.walk(MAIN)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                String rel = MAIN.relativize(f).toString().replace('\\', '/');
                if (rel.startsWith("cli/")) {
                    continue;
                }
                files++;
                for (String lit : stringLiterals(Files.readString(f, StandardCharsets.UTF_8))) {
                    if (OPTION.matcher(lit).find()) {
                        found.add(rel + ": \"" + lit + "\"");
                    }
                }
            }
        }
        assertTrue(files > 100, "scanned only " + files + " files");
        assertEquals(List.of(), found, "name a dev.saetrain.error.Setting instead; cli.OptionNames spells it");
    }

    @Test
    void theScannerSeesLiteralsAndSkipsComments() {
        String src = """
                // "--in-a-line-comment"
                /* "--in-a-block" */ String a = "--k must be"; char c = '"'; String b = "esc \\" --lr";
                String t = \"""
                    text --block
                    \""";
                String d = "a---b", e = "x--y";
                """;
        List<String> lits = stringLiterals(src);
        assertEquals(List.of("--k must be", "esc \\\" --lr", "    text --block\n    ", "a---b", "x--y"), lits);
        assertEquals(List.of("--k must be", "esc \\\" --lr", "    text --block\n    "),
                lits.stream().filter(l -> OPTION.matcher(l).find()).toList());
    }

    /** The contents (escapes left as written) of every string literal and text block of Java source {@code s}. */
    static List<String> stringLiterals(String s) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
                int end = s.indexOf('\n', i);
                i = end < 0 ? n : end + 1;
            } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
                int end = s.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
            } else if (c == '\'') {
                i = skipQuoted(s, i + 1, '\'');
            } else if (s.startsWith("\"\"\"", i)) {
                int start = s.indexOf('\n', i) + 1;
                int end = start;
                while (!s.startsWith("\"\"\"", end) || s.charAt(end - 1) == '\\') {
                    end++;
                }
                out.add(s.substring(start, end));
                i = end + 3;
            } else if (c == '"') {
                int end = skipQuoted(s, i + 1, '"');
                out.add(s.substring(i + 1, end - 1));
                i = end;
            } else {
                i++;
            }
        }
        return out;
    }

    /** The index after the closing {@code quote} of a literal whose contents start at {@code i}. */
    private static int skipQuoted(String s, int i, char quote) {
        while (s.charAt(i) != quote) {
            i += s.charAt(i) == '\\' ? 2 : 1;
        }
        return i + 1;
    }
}
