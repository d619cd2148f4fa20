package dev.saetrain.analysis;

import static dev.saetrain.error.Setting.VOCAB;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saetrain.error.BadInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Token strings by id, decoded to the text they stand for (so "Ġthe" of GPT-2's byte-level BPE reads " the", and
 * SentencePiece's "▁the" reads " the"). Formats:
 * <ul>
 *   <li>{@code .json}: a {@code {token: id}} object (GPT-2's {@code vocab.json}), a Hugging Face
 *       {@code tokenizer.json} (its {@code model.vocab}), or an array of strings indexed by id;</li>
 *   <li>anything else: UTF-8 text, one token per line, line i is token id i, taken literally (a trailing CR is
 *       dropped; tokens that hold a newline need the JSON form).</li>
 * </ul>
 * Byte-level BPE decoding (the GPT-2 bytes-to-unicode table) is applied to JSON vocabularies in which some token
 * contains 'Ġ' (U+0120, the stand-in for a space).
 */
public final class Vocabulary {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<String> tokens;
    private final Path file;

    private Vocabulary(List<String> tokens, Path file) {
        this.tokens = List.copyOf(tokens);
        this.file = file;
    }

    /** A vocabulary from strings already decoded (tests). */
    public static Vocabulary of(List<String> tokens) {
        return new Vocabulary(tokens, Path.of("<memory>"));
    }

    /** Number of tokens. */
    public int size() {
        return tokens.size();
    }

    /** The decoded text of token {@code id}. */
    public String token(int id) {
        return tokens.get(id);
    }

    /** All tokens, by id. */
    public List<String> tokens() {
        return tokens;
    }

    /** The file it was read from. */
    public Path file() {
        return file;
    }

    /** Reads a vocabulary file (see the class comment for the formats). */
    public static Vocabulary load(Path file) throws IOException {
        String text;
        if (Files.exists(file) || Files.isSymbolicLink(file)) {
            dev.saetrain.io.InputFiles.requireRegularFile(file, "vocabulary", VOCAB);
        }
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file, "no such file; give the vocabulary as vocab.json, tokenizer.json or "
                    + "a text file with one token per line");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new BadInputException(file, "not UTF-8 text");
        }
        if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json")) {
            return new Vocabulary(fromJson(file, text), file);
        }
        List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
        if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
            lines.remove(lines.size() - 1);
        }
        lines.replaceAll(l -> l.endsWith("\r") ? l.substring(0, l.length() - 1) : l);
        if (lines.isEmpty()) {
            throw new BadInputException(file, "no tokens in the file");
        }
        return new Vocabulary(lines, file);
    }

    private static List<String> fromJson(Path file, String text) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new BadInputException(file, "invalid JSON (" + e.getOriginalMessage() + ")");
        }
        if (root != null && root.isObject() && root.path("model").path("vocab").isObject()) {
            root = root.path("model").path("vocab");
        }
        List<String> raw = new ArrayList<>();
        if (root != null && root.isArray()) {
            root.forEach(n -> raw.add(n.asText()));
        } else if (root != null && root.isObject()) {
            String[] byId = new String[root.size()];
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode id = e.getValue();
                if (!id.canConvertToInt() || id.asInt() < 0 || id.asInt() >= byId.length || byId[id.asInt()] != null) {
                    throw new BadInputException(file, "token " + JSON.valueToTree(e.getKey()) + " has id " + id
                            + "; ids must be distinct integers 0.." + (byId.length - 1));
                }
                byId[id.asInt()] = e.getKey();
            }
            raw.addAll(List.of(byId));
        } else {
            throw new BadInputException(file, "expected a {token: id} object, a tokenizer.json or an array of tokens");
        }
        if (raw.isEmpty()) {
            throw new BadInputException(file, "no tokens in the file");
        }
        boolean byteLevel = raw.stream().anyMatch(t -> t.indexOf('\u0120') >= 0);
        List<String> out = new ArrayList<>(raw.size());
        for (String t : raw) {
            out.add(byteLevel ? decodeByteLevel(t) : t.replace('\u2581', ' '));
        }
        return out;
    }

    /**
     * Inverts GPT-2's byte-to-unicode table: printable Latin-1 bytes stand for themselves, the other 68 byte values
     * are mapped to U+0100 onwards in order. The bytes are then read as UTF-8 (invalid sequences, which a token
     * holding part of a character has, become U+FFFD).
     */
    static String decodeByteLevel(String token) {
        int[] charToByte = BYTE_LEVEL;
        byte[] bytes = new byte[token.length()];
        int n = 0;
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c >= charToByte.length || charToByte[c] < 0) {
                return token; // not byte-level text after all: keep it as written
            }
            bytes[n++] = (byte) charToByte[c];
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }

    private static final int[] BYTE_LEVEL = byteLevelTable();

    private static int[] byteLevelTable() {
        int[] table = new int[0x200];
        java.util.Arrays.fill(table, -1);
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            if (printable) {
                table[b] = b;
            } else {
                table[0x100 + next++] = b;
            }
        }
        return table;
    }
}
