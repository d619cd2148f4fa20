package dev.saetrain.analysis;

import static dev.saetrain.error.Setting.TOKEN_SET;

import dev.saetrain.error.BadInputException;
import dev.saetrain.error.UsageException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A named set of tokens for token-set enrichment (Bloom &amp; Lin 2024, "Understanding SAE Features with the Logit
 * Lens": a test of whether a latent's logit weights on the set differ from those on the rest of the vocabulary).
 * Membership is a predicate on the decoded token text.
 *
 * @param name        short name, used in file names and tables
 * @param description how membership is decided
 * @param member      true for tokens in the set
 */
public record TokenSet(String name, String description, Predicate<String> member) {
    public TokenSet {
        if (!name.matches("[A-Za-z0-9_.-]+")) {
            throw new UsageException("token-set name '" + name + "' may use only letters, digits, '_', '.', '-'");
        }
    }

    /** The membership mask over a vocabulary. */
    public boolean[] mask(Vocabulary vocab) {
        boolean[] m = new boolean[vocab.size()];
        for (int i = 0; i < m.length; i++) {
            m[i] = member.test(vocab.token(i));
        }
        return m;
    }

    /**
     * The built-in sets, as in the post's NLTK / regex sets: {@code leading_space} (starts with a space),
     * {@code capitalised} (first non-space character an upper-case letter), {@code all_caps} (at least two letters,
     * all upper case, nothing but letters after an optional leading space), {@code digits} (only digits after an
     * optional leading space), {@code punctuation} (only punctuation or symbols after an optional leading space).
     */
    public static List<TokenSet> builtIn() {
        return List.of(
                new TokenSet("leading_space", "starts with a space", t -> t.startsWith(" ")),
                new TokenSet("capitalised", "first non-space character is an upper-case letter",
                        t -> !t.strip().isEmpty() && Character.isUpperCase(t.strip().codePointAt(0))),
                new TokenSet("all_caps", "two or more letters, all upper case", TokenSet::allCaps),
                regex("digits", " ?\\p{Nd}+"),
                regex("punctuation", " ?[\\p{P}\\p{S}]+"));
    }

    private static boolean allCaps(String t) {
        String s = t.startsWith(" ") ? t.substring(1) : t;
        return s.length() >= 2 && s.codePoints().allMatch(Character::isUpperCase);
    }

    /** The tokens whose whole text matches {@code pattern} (Java regex). */
    public static TokenSet regex(String name, String pattern) {
        Pattern p;
        try {
            p = Pattern.compile(pattern);
        } catch (PatternSyntaxException e) {
            throw new UsageException("token set " + name + ": bad regex (" + e.getDescription() + ")");
        }
        return new TokenSet(name, "matches /" + pattern + "/", t -> p.matcher(t).matches());
    }

    /**
     * The sets a command line asks for: the built-in ones unless {@code noBuiltIn}, then each {@code --token-set}
     * spec parsed by {@link #parse}, in order.
     */
    public static List<TokenSet> fromOptions(boolean noBuiltIn, List<String> specs) throws IOException {
        List<TokenSet> sets = new java.util.ArrayList<>(noBuiltIn ? List.of() : builtIn());
        for (String spec : specs) {
            sets.add(parse(spec));
        }
        return sets;
    }

    /**
     * Parses a command-line set: {@code NAME=regex:PATTERN} (whole-token match) or {@code NAME=list:FILE} (UTF-8, one
     * token per line, compared with the decoded token text; write a leading space where the token has one).
     */
    public static TokenSet parse(String spec) throws IOException {
        int eq = spec.indexOf('=');
        if (eq < 1) {
            throw new UsageException(TOKEN_SET, "'" + spec + "': expected NAME=regex:PATTERN or NAME=list:FILE");
        }
        String name = spec.substring(0, eq);
        String def = spec.substring(eq + 1);
        if (def.startsWith("regex:")) {
            return regex(name, def.substring("regex:".length()));
        }
        if (def.startsWith("list:")) {
            Path file = Path.of(def.substring("list:".length()));
            List<String> lines;
            if (Files.exists(file) || Files.isSymbolicLink(file)) {
                dev.saetrain.io.InputFiles.requireRegularFile(file, "token list of set " + name);
            }
            try {
                lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            } catch (NoSuchFileException e) {
                throw new BadInputException(file, "no such file (token list of set " + name + ")");
            }
            Set<String> set = new HashSet<>();
            for (String l : lines) {
                String t = l.endsWith("\r") ? l.substring(0, l.length() - 1) : l;
                if (!t.isEmpty()) {
                    set.add(t);
                }
            }
            if (set.isEmpty()) {
                throw new BadInputException(file, "no tokens in the list of set " + name);
            }
            return new TokenSet(name, set.size() + " tokens listed in " + file.getFileName(), set::contains);
        }
        throw new UsageException(TOKEN_SET, "'" + spec + "': expected NAME=regex:PATTERN or NAME=list:FILE");
    }
}
