package dev.saetrain.train;

import dev.saetrain.error.BadInputException;
import dev.saetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code checksums.sha256} in a checkpoint folder: the SHA-256 of every other file there, one
 * {@code <64 hex digits>  <file name>} line each, the format of {@code sha256sum}, so
 * {@code cd checkpoints/step-N && sha256sum -c checksums.sha256} checks a checkpoint without sae-train.
 *
 * <p>It is written last, after every other file of the checkpoint is complete, and inside the temporary folder that
 * is then fsynced and renamed into place (see {@link CheckpointStore}): a published checkpoint always has it, so a
 * checkpoint of the current format without it has lost a file. Checkpoints written before checksums existed (format
 * {@link Checkpoint#FORMAT_UNCHECKED}) have none and are resumed unverified.
 */
final class CheckpointManifest {
    static final String FILE = "checksums.sha256";
    private static final Pattern LINE = Pattern.compile("([0-9a-f]{64})  ([A-Za-z0-9._-]+)");
    private static final int BUFFER = 1 << 20;

    private CheckpointManifest() {
    }

    /** Hashes every regular file in {@code dir} (but the manifest) and writes the manifest there, atomically. */
    static void write(Path dir) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals(FILE))
                    .filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
        }
        StringBuilder text = new StringBuilder();
        for (Path f : files) {
            text.append(sha256(f)).append("  ").append(f.getFileName()).append('\n');
        }
        AtomicFiles.writeString(dir.resolve(FILE), text.toString());
    }

    /** Whether {@code dir} has a manifest. */
    static boolean present(Path dir) {
        return Files.exists(dir.resolve(FILE));
    }

    /**
     * Checks every file the manifest lists against its checksum and returns the names listed.
     *
     * @throws BadInputException naming the first file that is missing or differs, or the manifest when it is malformed
     */
    static Map<String, String> verify(Path dir) throws IOException {
        Path manifest = dir.resolve(FILE);
        Map<String, String> listed = new LinkedHashMap<>();
        // Decoded leniently: a damaged byte that is not UTF-8 must fail the line check below, not the read.
        List<String> lines = new String(Files.readAllBytes(manifest), StandardCharsets.UTF_8).lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = LINE.matcher(lines.get(i));
            if (!m.matches() || m.group(2).equals(FILE) || listed.put(m.group(2), m.group(1)) != null) {
                throw new BadInputException(manifest, "line " + (i + 1) + " is not '<sha256>  <file>' for a file listed "
                        + "once; the manifest is damaged");
            }
        }
        if (!listed.containsKey(Checkpoint.FILE)) {
            throw new BadInputException(manifest, "does not list " + Checkpoint.FILE + "; the manifest is damaged");
        }
        for (Map.Entry<String, String> e : listed.entrySet()) {
            Path f = dir.resolve(e.getKey());
            if (!Files.isRegularFile(f)) {
                throw new BadInputException(f, "missing (listed in " + FILE + "); the checkpoint lost a file");
            }
            String actual = sha256(f);
            if (!actual.equals(e.getValue())) {
                throw new BadInputException(f, "does not match its checksum in " + FILE + " (" + Files.size(f)
                        + " bytes, SHA-256 " + actual.substring(0, 12) + "... instead of " + e.getValue().substring(0, 12)
                        + "...): changed or truncated on disk");
            }
        }
        return listed;
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
        ByteBuffer buf = ByteBuffer.allocate(BUFFER);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf.clear()) >= 0) {
                md.update(buf.flip());
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
