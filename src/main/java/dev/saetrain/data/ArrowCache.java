package dev.saetrain.data;

import static dev.saetrain.error.Setting.COLUMN;

import com.fasterxml.jackson.databind.JsonNode;
import dev.saetrain.error.BadInputException;
import dev.saetrain.io.DType;
import dev.saetrain.io.JsonFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A SAELens activation cache ({@code CacheActivationsRunner}): a Hugging Face {@code datasets} folder written by
 * {@code save_to_disk}, i.e. {@code state.json} (the data files, in order), {@code dataset_info.json} (the features)
 * and {@code data-XXXXX-of-YYYYY.arrow} Arrow IPC stream files. One row of the hook column is a sequence
 * {@code [ctx, dIn]}; training rows are its positions, so a file of n sequences is {@code n * ctx} rows, in order.
 *
 * <p>Each file becomes one {@link Shard} whose mapping chunks are the record batches' value buffers (see
 * {@link ArrowBatches}): rows are converted straight from the page cache like a .npy shard's, nothing is loaded into
 * memory, and the shuffle, scale estimate, resume position and NaN checks of {@link ShardSet} apply unchanged.
 * The column layout is checked in full when the cache is opened (list offsets, null counts, buffer sizes, and
 * agreement between the files and dataset_info.json); every defect is a {@link BadInputException}.
 */
public final class ArrowCache {
    /** datasets' {@code config.DATASET_STATE_JSON_FILENAME}. */
    public static final String STATE = "state.json";
    /** datasets' {@code config.DATASET_INFO_FILENAME}. */
    public static final String INFO = "dataset_info.json";
    /** The token column SAELens writes beside the hook column. */
    public static final String TOKENS = "token_ids";

    private final Path dir;
    private final String column;
    private final int contextSize;
    private final List<Shard> shards;
    private final List<ArrowBatches> files;

    private ArrowCache(Path dir, String column, int contextSize, List<ArrowBatches> files) {
        this.dir = dir;
        this.column = column;
        this.contextSize = contextSize;
        this.files = List.copyOf(files);
        this.shards = files.stream().map(ArrowBatches::shard).toList();
    }

    /** Whether {@code dir} is a {@code datasets} folder (it has a state.json or dataset_info.json). */
    public static boolean isCache(Path dir) {
        return Files.isDirectory(dir) && (Files.isRegularFile(dir.resolve(STATE)) || Files.isRegularFile(dir.resolve(INFO)));
    }

    /**
     * Opens the cache in {@code dir}.
     *
     * @param column the hook column, or null to take the only 2-D float column
     * @throws BadInputException for any defect of the folder, its files or their agreement
     */
    public static ArrowCache open(Path dir, String column) {
        List<Path> paths = dataFiles(dir);
        List<ArrowStream> streams = paths.stream().map(ArrowStream::read).toList();
        ArrowColumns hook = pick(streams.get(0), column);
        ArrowColumns tokens = ArrowColumns.of(streams.get(0).file(), streams.get(0).schema()).stream()
                .filter(c -> c.name().equals(TOKENS) && c.dtype() == DType.I32 && c.arrayDims() == 1
                        && c.fixedSize() == hook.shape()[0])
                .findFirst().orElse(null);
        List<ArrowBatches> files = new ArrayList<>();
        long sequences = 0;
        for (ArrowStream s : streams) {
            ArrowColumns h = ArrowColumns.of(s.file(), s.schema()).stream().filter(c -> c.name().equals(hook.name()))
                    .findFirst().orElse(null);
            if (h == null || h.dtype() != hook.dtype() || h.shape() == null
                    || !java.util.Arrays.equals(h.shape(), hook.shape())) {
                throw new BadInputException(s.file(), "column " + hook.name() + " differs from the first file's ("
                        + describe(hook) + " there, " + (h == null ? "absent" : describe(h)) + " here); the folder "
                        + "mixes two caches, regenerate it");
            }
            ArrowBatches b = ArrowBatches.map(s, h, tokens);
            sequences += b.shard().layout().shape()[0];
            files.add(b);
        }
        DatasetInfo.check(dir.resolve(INFO), streams.get(0), hook, sequences);
        if (files.stream().allMatch(f -> f.shard().rows() == 0)) {
            throw new BadInputException(dir, "the cache holds no sequences; regenerate it");
        }
        return new ArrowCache(dir, hook.name(), (int) hook.shape()[0], files);
    }

    /** The data files in state.json's order, or the sorted {@code *.arrow} files without a state.json. */
    private static List<Path> dataFiles(Path dir) {
        Path state = dir.resolve(STATE);
        List<Path> out = new ArrayList<>();
        if (Files.isRegularFile(state)) {
            JsonNode files;
            try {
                files = JsonFiles.read(state).get("_data_files");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + state + ": " + e.getMessage(), e);
            }
            if (files == null || !files.isArray() || files.isEmpty()) {
                throw new BadInputException(state, "no _data_files list; this is not a dataset written by "
                        + "save_to_disk, regenerate the cache");
            }
            for (JsonNode f : files) {
                String name = f.path("filename").asText("");
                Path p = dir.resolve(name).normalize();
                if (name.isEmpty() || !dir.equals(p.getParent())) {
                    throw new BadInputException(state, "data file entry " + f + " is not a file name in the folder; "
                            + "regenerate the cache");
                }
                out.add(p);
            }
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            out.addAll(s.filter(p -> p.getFileName().toString().endsWith(".arrow")).sorted().toList());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new BadInputException(dir, "a datasets folder without state.json or .arrow files; point to the "
                    + "folder the activation cache was saved to");
        }
        return out;
    }

    /** The hook column: the one named, or the only 2-D float column. */
    private static ArrowColumns pick(ArrowStream first, String name) {
        List<ArrowColumns> cols = ArrowColumns.of(first.file(), first.schema());
        List<String> names = cols.stream().map(ArrowColumns::name).toList();
        ArrowColumns c;
        if (name != null) {
            c = cols.stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow(() -> new BadInputException(
                    first.file(), "no column '" + name + "' (columns: " + names + "); give one of them to ", COLUMN));
            if (!c.isActivations()) {
                throw new BadInputException(first.file(), "column '" + name + "' is not a 2-D float array ("
                        + describe(c) + "); give the activation column (a datasets Array2D) to ", COLUMN);
            }
        } else {
            List<ArrowColumns> found = cols.stream().filter(ArrowColumns::isActivations).toList();
            if (found.isEmpty()) {
                throw new BadInputException(first.file(), "no 2-D float column (datasets Array2D of shape "
                        + "(context_size, d_in)) among " + names + "; this is not an activation cache");
            }
            if (found.size() > 1) {
                throw new BadInputException(first.file(), "several 2-D float columns " + found.stream()
                        .map(ArrowColumns::name).toList() + "; choose the hook with ", COLUMN, " NAME");
            }
            c = found.get(0);
        }
        if (c.shape() == null) {
            throw new BadInputException(first.file(), "column '" + c.name() + "' is a nested list without the datasets "
                    + "Array2D extension type (" + ArrowColumns.ARRAY2D + "), so its shape is unknown; write it with "
                    + "datasets' Array2D feature as SAELens does");
        }
        if (c.dtype() == null) {
            throw new BadInputException(first.file(), "column '" + c.name() + "' holds float64; sae-train reads float32 "
                    + "and float16 caches: cache with dtype float32 (SAELens CacheActivationsRunnerConfig.dtype)");
        }
        return c;
    }

    static String describe(ArrowColumns c) {
        String type = (c.fixedSize() > 0 ? "fixed-size list" : c.arrayDims() + "-level list") + " of "
                + (c.dtype() != null ? c.dtype() : c.floatLeaf() ? "float64" : "non-float values");
        return c.shape() == null ? type : type + ", Array2D shape [" + c.shape()[0] + ", " + c.shape()[1] + "]";
    }

    /** The folder. */
    public Path dir() {
        return dir;
    }

    /** The hook column the rows come from, e.g. {@code blocks.6.hook_resid_post}: SAELens's {@code hook_name}. */
    public String column() {
        return column;
    }

    /** Positions per sequence (SAELens {@code context_size}, after any {@code seqpos_slice}). */
    public int contextSize() {
        return contextSize;
    }

    /** One shard per data file, in state.json's order. */
    public List<Shard> shards() {
        return shards;
    }

    /** Whether the cache has SAELens's {@code token_ids} column, so {@link #tokenIds} works. */
    public boolean hasTokens() {
        return files.stream().allMatch(ArrowBatches::hasTokens);
    }

    /**
     * The token ids of rows {@code [firstRow, firstRow + count)} of shard {@code shard} (the token at each position),
     * read from the {@code token_ids} column. For analyses; not on the training path.
     *
     * @throws IllegalStateException if the cache has no token column
     */
    public int[] tokenIds(int shard, long firstRow, int count) {
        return files.get(shard).tokenIds(firstRow, count);
    }

    /** Maps [offset, offset + length) of {@code file} read-only, little-endian. */
    static ByteBuffer map(Path file, long offset, long length) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, offset, length).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map " + file + ": " + e.getMessage(), e);
        }
    }
}
