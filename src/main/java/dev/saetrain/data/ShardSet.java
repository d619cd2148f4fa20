package dev.saetrain.data;

import static dev.saetrain.error.Setting.COLUMN;
import static dev.saetrain.error.Setting.SKIP_NONFINITE;

import dev.saetrain.error.BadInputException;
import dev.saetrain.io.InputFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The shards of a data set, in file-name order, all of the same width {@code dIn}. Rows are numbered
 * globally: shard i holds global rows {@code [offset(i), offset(i) + rows(i))}.
 */
public final class ShardSet {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ShardSet.class);
    private final Path source;
    private final List<Shard> shards;
    private final long[] offsets;
    private final int dIn;
    /** The SAELens activation cache the shards come from, or null for .npy / .safetensors shards. */
    private final ArrowCache cache;

    private ShardSet(Path source, List<Shard> shards) {
        this(source, shards, null);
    }

    private ShardSet(Path source, List<Shard> shards, ArrowCache cache) {
        this.source = source;
        this.cache = cache;
        this.shards = List.copyOf(shards);
        this.offsets = new long[shards.size() + 1];
        for (int i = 0; i < shards.size(); i++) {
            offsets[i + 1] = offsets[i] + shards.get(i).rows();
        }
        this.dIn = shards.get(0).dIn();
    }

    /**
     * Files in a shard directory that hold something other than activations and are never read as shards:
     * {@code ground_truth.npy}, the true features that {@code sae-train synth} writes beside its shards.
     */
    public static final java.util.Set<String> NOT_SHARDS = java.util.Set.of("ground_truth.npy");

    /**
     * Opens a directory of shards (every {@code *.npy} and {@code *.safetensors} in it, sorted by name; other
     * files, {@link #NOT_SHARDS} and subdirectories are ignored) or a single shard file.
     *
     * @throws BadInputException if there is no shard, a shard is defective, or the widths differ
     */
    public static ShardSet open(Path dirOrFile) {
        return open(dirOrFile, null);
    }

    /**
     * {@link #open(Path)}, or a SAELens activation cache (a Hugging Face datasets folder, see {@link ArrowCache}) with
     * its hook column {@code column} (null: the only 2-D float column).
     *
     * @throws BadInputException as {@link #open(Path)}, for a defective cache, or for a column given to .npy shards
     */
    public static ShardSet open(Path dirOrFile, String column) {
        if (ArrowCache.isCache(dirOrFile)) {
            ArrowCache c = ArrowCache.open(dirOrFile, column);
            return new ShardSet(dirOrFile, c.shards(), c);
        }
        if (column != null) {
            throw new BadInputException(dirOrFile, COLUMN, " picks the hook column of a SAELens activation cache (a "
                    + "datasets folder with state.json); this is not one, leave ", COLUMN, " out");
        }
        List<Path> files = shardFiles(dirOrFile);
        List<Shard> shards = new ArrayList<>(files.size());
        for (Path f : files) {
            Shard s = Shard.open(f);
            if (!shards.isEmpty() && s.dIn() != shards.get(0).dIn()) {
                Shard first = shards.get(0);
                throw new BadInputException(f, "d = " + s.dIn() + " differs from d = " + first.dIn() + " of the first shard "
                        + first.path().getFileName() + "; every shard of a directory must come from the same hook");
            }
            shards.add(s);
        }
        if (shards.stream().allMatch(s -> s.rows() == 0)) {
            throw new BadInputException(dirOrFile, "the shards hold no rows; regenerate the activation cache");
        }
        return new ShardSet(dirOrFile, shards);
    }

    /**
     * The shard files {@link #open} would read: a single file as given, or the sorted {@code .npy} and
     * {@code .safetensors} files of a directory.
     *
     * @throws BadInputException if the path does not exist or a directory has no shard file
     */
    public static List<Path> shardFiles(Path dirOrFile) {
        if (!Files.isDirectory(dirOrFile)) {
            if (!Files.exists(dirOrFile) && !Files.isSymbolicLink(dirOrFile)) {
                throw new BadInputException(dirOrFile, "no such file or directory; check the path");
            }
            InputFiles.requireRegularFile(dirOrFile, "shard (or a directory of shards)");
            return List.of(dirOrFile);
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dirOrFile)) {
            files = s.filter(p -> isShardName(p.getFileName().toString()))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString()))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dirOrFile + ": " + e.getMessage(), e);
        }
        List<Path> regular = new ArrayList<>();
        for (Path f : files) {
            if (Files.isDirectory(f)) {
                // Subdirectories are not read (a shard directory is flat), but one named like a shard is worth a word.
                LOG.warn("{}: a directory named like a shard; skipped (shards in subdirectories are not read)", f);
                continue;
            }
            // A shard-named entry that cannot be read (a dangling link, a link loop, a FIFO) is part of the data set
            // the user meant: skipping it would silently train on less. Refuse it by name instead.
            String problem = InputFiles.problem(f);
            if (problem != null) {
                throw new BadInputException(f, problem + "; every .npy / .safetensors entry of a shard directory must be "
                        + "a readable shard file: fix or remove it");
            }
            regular.add(f);
        }
        files = regular;
        if (files.isEmpty()) {
            throw new BadInputException(dirOrFile, "no .npy or .safetensors shard files in this directory; "
                    + "point to the directory the activation cache was written to");
        }
        return files;
    }

    private static boolean isShardName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        // Hidden files include our own atomic-write temporaries and editors' droppings.
        return !n.startsWith(".") && !NOT_SHARDS.contains(n) && (n.endsWith(".npy") || n.endsWith(".safetensors"));
    }

    /** The directory or file this set was opened from. */
    public Path source() {
        return source;
    }

    /** The SAELens activation cache behind these shards (hook column, context size, token ids), if they come from one. */
    public java.util.Optional<ArrowCache> arrowCache() {
        return java.util.Optional.ofNullable(cache);
    }

    /** The shards in file-name order. */
    public List<Shard> shards() {
        return shards;
    }

    /** Width of every row. */
    public int dIn() {
        return dIn;
    }

    /** Rows over all shards. */
    public long totalRows() {
        return offsets[shards.size()];
    }

    /** Rows per shard, in order. */
    public long[] shardRows() {
        long[] r = new long[shards.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = shards.get(i).rows();
        }
        return r;
    }

    /** Global row number of the first row of shard {@code i}. */
    public long offset(int i) {
        return offsets[i];
    }

    /** Index of the shard holding global row {@code row}. */
    public int shardOf(long row) {
        if (row < 0 || row >= totalRows()) {
            throw new IndexOutOfBoundsException("row " + row + " of " + totalRows());
        }
        int i = Arrays.binarySearch(offsets, row);
        if (i >= 0) {
            while (offsets[i + 1] == row) { // skip empty shards that share this offset
                i++;
            }
            return i;
        }
        return -i - 2;
    }

    /**
     * The first {@code min(n, totalRows())} finite rows in file order, as fp32 times {@code scale},
     * {@code [rows, dIn]} row-major (for example for the geometric-median initialisation of b_dec).
     *
     * @param skipNonFinite skip rows with NaN or Inf instead of failing on them
     * @throws BadInputException on a non-finite row unless skipped
     */
    public float[] readFirstRows(int n, float scale, boolean skipNonFinite) {
        int want = (int) Math.min(n, totalRows());
        float[] out = new float[Math.multiplyExact(want, dIn)];
        int got = 0;
        for (Shard s : shards) {
            for (long r = 0; r < s.rows() && got < want; r++) {
                s.readRows(r, 1, scale, out, got * dIn);
                int bad = Shard.firstNonFinite(out, got * dIn, dIn);
                if (bad < 0) {
                    got++;
                } else if (!skipNonFinite) {
                    throw nonFinite(s, r, bad, out[got * dIn + bad]);
                }
            }
        }
        return got == want ? out : Arrays.copyOf(out, got * dIn);
    }

    /** The error for a NaN or Inf at {@code row}, {@code column} of a shard. */
    static BadInputException nonFinite(Shard s, long row, int column, float value) {
        return new BadInputException(s.path(), "row " + row + " has a non-finite value (" + value + " in column "
                + column + "); fix the activation cache or pass ", SKIP_NONFINITE, " to skip such rows");
    }
}
