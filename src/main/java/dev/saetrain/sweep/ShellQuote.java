package dev.saetrain.sweep;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Words of a command line printed for a user to paste into a POSIX shell. A path such as {@code runs/$(rm -rf ~)}
 * printed bare would run the command inside it when pasted; single quotes make every character literal (a single
 * quote itself is written as {@code '\''}: close, escaped quote, reopen).
 */
public final class ShellQuote {
    /** Words made only of these characters mean the same to the shell quoted or not; they stay bare to be readable. */
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_./=:,%@+-]+");

    private ShellQuote() {
    }

    /** {@code word} as one shell word. */
    public static String quote(String word) {
        if (PLAIN.matcher(word).matches()) {
            return word;
        }
        return "'" + word.replace("'", "'\\''") + "'";
    }

    /** The words joined by spaces, each quoted. */
    public static String join(List<String> words) {
        StringBuilder b = new StringBuilder();
        for (String w : words) {
            b.append(b.length() == 0 ? "" : " ").append(quote(w));
        }
        return b.toString();
    }
}
