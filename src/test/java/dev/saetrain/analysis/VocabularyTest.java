package dev.saetrain.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.saetrain.error.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VocabularyTest {
    @TempDir
    Path tmp;

    @Test
    void gpt2VocabJsonIsDecodedFromByteLevelBpe() throws Exception {
        Path f = tmp.resolve("vocab.json");
        // "Ġthe" = " the", "Ċ" = "\n", "Ã©" = UTF-8 bytes C3 A9 = "é"; ids out of file order
        Files.writeString(f, "{\"\\u0120the\": 2, \"!\": 0, \"\\u010a\": 1, \"caf\\u00c3\\u00a9\": 3}");
        Vocabulary v = Vocabulary.load(f);
        assertEquals(List.of("!", "\n", " the", "café"), v.tokens());
    }

    @Test
    void tokenizerJsonAndSentencePieceSpaces() throws Exception {
        Path f = tmp.resolve("tokenizer.json");
        Files.writeString(f, "{\"model\": {\"type\": \"Unigram\", \"vocab\": {\"\\u2581the\": 0, \"ing\": 1}}}");
        assertEquals(List.of(" the", "ing"), Vocabulary.load(f).tokens());
    }

    @Test
    void textFileOneTokenPerLineKeepsSpaces() throws Exception {
        Path f = tmp.resolve("vocab.txt");
        Files.writeString(f, "a\r\n the\n\n7\n");
        assertEquals(List.of("a", " the", "", "7"), Vocabulary.load(f).tokens());
    }

    @Test
    void duplicateIdsAndMissingFilesNameTheFile() throws Exception {
        Path f = tmp.resolve("bad.json");
        Files.writeString(f, "{\"a\": 0, \"b\": 0}");
        BadInputException e = assertThrows(BadInputException.class, () -> Vocabulary.load(f));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("distinct"), e.getMessage());
        Path missing = tmp.resolve("none.txt");
        BadInputException e2 = assertThrows(BadInputException.class, () -> Vocabulary.load(missing));
        assertTrue(e2.getMessage().startsWith(missing.toString()), e2.getMessage());
    }
}
