package dev.saetrain.data;

import dev.saetrain.error.BadInputException;
import dev.saetrain.io.DType;
import dev.saetrain.io.SafetensorsReader;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;

/**
 * Where the activations lie in a .safetensors shard: the header is parsed and checked by {@link SafetensorsReader};
 * this picks the activations (the only tensor, or the tensor named {@code activations} when there are several) and
 * refuses dtypes other than F32, F16 and BF16.
 */
final class SafetensorsHeaderParser {
    /** The key a multi-tensor file must use for its activations. */
    static final String ACTIVATIONS = "activations";

    private SafetensorsHeaderParser() {
    }

    /** Parses the header of {@code file}, open as {@code ch}, into its layout. */
    static ShardLayout parse(Path file, FileChannel ch) throws IOException {
        List<SafetensorsReader.Entry> tensors = SafetensorsReader.header(file, ch).tensors();
        SafetensorsReader.Entry t;
        if (tensors.size() == 1) {
            t = tensors.get(0);
        } else {
            t = tensors.stream().filter(e -> e.name().equals(ACTIVATIONS)).findFirst().orElseThrow(() ->
                    new BadInputException(file, "holds " + tensors.size() + " tensors " + abbreviate(tensors)
                            + " and none is named '" + ACTIVATIONS + "'; save one tensor, or name the activations '"
                            + ACTIVATIONS + "'"));
        }
        DType dtype = t.dtype();
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new BadInputException(file, "unsupported dtype '" + t.dtypeName() + "' of tensor '" + t.name()
                    + "': only F32, F16 and BF16 are read; convert with tensor.float() before saving");
        }
        return new ShardLayout(file, "safetensors", dtype, t.shape(), t.begin());
    }

    private static String abbreviate(List<SafetensorsReader.Entry> tensors) {
        List<String> names = tensors.stream().map(SafetensorsReader.Entry::name).toList();
        return names.size() <= 5 ? names.toString() : names.subList(0, 5) + " (and " + (names.size() - 5) + " more)";
    }
}
