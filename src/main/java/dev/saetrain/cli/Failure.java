package dev.saetrain.cli;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.saetrain.device.DeviceMemoryError;
import dev.saetrain.error.UsageException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * What an exception that ended a command means to the user: an exit code and one line for stderr. Bad input or
 * usage ({@link UsageException} and its {@code BadInputException}, a missing or existing file, malformed JSON) is
 * exit {@link Main#BAD_INPUT}; the machine refusing (disk full, read-only or forbidden output, out of memory, too many
 * mappings) is {@link Main#ENVIRONMENT}; anything else is a bug, {@link Main#INTERNAL}, and its stack trace goes to
 * a file (see {@link CrashLog}), never to stderr. {@link IllegalArgumentException} and {@link IllegalStateException}
 * are bugs too: they guard the program's internal contracts, and input the user can fix is a {@link UsageException}.
 *
 * @param code    the exit code
 * @param message the line for stderr, starting with "error: " or "internal error: "
 * @param cause   the exception classified, for the trace file
 */
record Failure(int code, String message, Throwable cause) {

    /** Classifies {@code e}, looking through the wrappers that only carry another exception. */
    static Failure of(Throwable e) {
        Throwable t = unwrap(e);
        if (t instanceof UsageException u) {
            return bad(OptionNames.message(u), t);
        }
        if (t instanceof JsonProcessingException j) {
            return bad(json(j), t);
        }
        if (t instanceof FileSystemException f) {
            return fileSystem(f);
        }
        if (t instanceof IOException io) {
            String m = String.valueOf(io.getMessage());
            return env(isEnvironment(m) ? m + hint(m) : "I/O error: " + m, t);
        }
        if (t instanceof ArithmeticException) {
            return bad("a size computed from the options or the input is too large (" + t.getMessage()
                    + "); lower --expansion or --batch, or check the shard headers with sae-train inspect", t);
        }
        if (t instanceof InternalError && String.valueOf(t.getMessage()).contains("unsafe memory access")) {
            // A page fault on a memory-mapped file read outside the stream, which names the shard itself.
            return bad("a memory-mapped input file changed or was truncated while it was being read; leave shards "
                    + "and dictionaries unchanged while sae-train runs", t);
        }
        if (t instanceof DeviceMemoryError) {
            return env("out of memory: " + t.getMessage() + "; drop SAEs from the family, lower --batch or "
                    + "--expansion, or free memory on the machine (--max-memory sets the limit checked before the "
                    + "first step)", t);
        }
        if (t instanceof OutOfMemoryError) {
            // The heap (-Xmx) or, for the few direct buffers left (kernel scratch, analyses), -XX:MaxDirectMemorySize.
            return env("out of memory (" + t.getMessage() + "): lower --batch, --expansion or --threads, or give the "
                    + "JVM more (-Xmx; -XX:MaxDirectMemorySize when it names direct buffer memory)", t);
        }
        return new Failure(Main.INTERNAL, "internal error: " + t, t);
    }

    private static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t instanceof UncheckedIOException || t instanceof ExecutionException
                || t instanceof CompletionException
                || (t.getClass() == RuntimeException.class && t.getMessage() != null
                        && t.getMessage().equals(t.getCause().toString())))) {
            t = t.getCause();
        }
        return t;
    }

    private static Failure bad(String message, Throwable t) {
        return new Failure(Main.BAD_INPUT, "error: " + oneLine(message), t);
    }

    private static Failure env(String message, Throwable t) {
        return new Failure(Main.ENVIRONMENT, "error: " + oneLine(message), t);
    }

    private static Failure fileSystem(FileSystemException f) {
        String file = f.getFile() == null ? "" : f.getFile();
        String reason = f.getReason() == null ? "" : f.getReason();
        if (f instanceof NoSuchFileException) {
            return bad(file + ": no such file or directory; check the path", f);
        }
        if (f instanceof FileAlreadyExistsException) {
            return bad(file + " already exists; remove it or choose another name", f);
        }
        if (f instanceof NotDirectoryException) {
            return bad(file + " is not a directory; give a directory there", f);
        }
        if (f instanceof AccessDeniedException) {
            return env(file + ": permission denied; choose a writable --out or fix the permissions", f);
        }
        if (reason.toLowerCase(Locale.ROOT).contains("not a directory")) {
            return bad(file + ": a part of this path is a file, not a directory; check --out and the paths given", f);
        }
        if (reason.toLowerCase(Locale.ROOT).contains("file name too long")) {
            return bad(file + ": file name too long; choose a shorter --name or --out", f);
        }
        return env(file + ": " + (reason.isEmpty() ? f.getClass().getSimpleName() : reason) + hint(reason), f);
    }

    /** Disk full, read-only file system and their kin: the machine, not the input or the program. */
    private static boolean isEnvironment(String m) {
        String l = m.toLowerCase(Locale.ROOT);
        return l.contains("no space left") || l.contains("read-only file system") || l.contains("disk quota")
                || l.contains("too many open files") || l.contains("map failed") || l.contains("cannot allocate memory");
    }

    private static String hint(String m) {
        String l = m.toLowerCase(Locale.ROOT);
        if (l.contains("no space left") || l.contains("disk quota")) {
            return "; free space or choose another --out (checkpoints already written are intact)";
        }
        if (l.contains("read-only file system")) {
            return "; choose a writable --out";
        }
        if (l.contains("too many open files") || l.contains("map failed")) {
            return "; the OS limits open files and memory mappings (ulimit -n, vm.max_map_count): merge small shards "
                    + "into fewer, larger ones or raise the limit";
        }
        return "";
    }

    private static String json(JsonProcessingException j) {
        // The project's own files are read through JsonFiles, which names the file; this is the fallback.
        JsonLocation loc = j.getLocation();
        String where = loc == null ? "" : "line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ": ";
        return where + "malformed JSON (" + j.getOriginalMessage() + "); fix or restore the file";
    }

    /** Messages are one line on stderr: newlines inside a message become "; ". */
    private static String oneLine(String s) {
        return String.valueOf(s).strip().replaceAll("\\s*\\R\\s*", "; ");
    }
}
