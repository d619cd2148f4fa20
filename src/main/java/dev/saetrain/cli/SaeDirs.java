package dev.saetrain.cli;

import dev.saetrain.data.BadInputException;
import dev.saetrain.export.SaeLensReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The dictionary folders a command works on: {@link SaeLensReader#findSaeDirs} less hidden folders, which are an
 * export's staging copy ({@code .NAME.tmp-*}, half written if its writer died) or the superseded copy
 * ({@code .NAME.old-*}), never a dictionary of their own. Each one left out is named on a warning line.
 */
final class SaeDirs {
    private SaeDirs() {
    }

    static List<Path> find(Path path, PrintWriter err) throws IOException {
        List<Path> found = SaeLensReader.findSaeDirs(path);
        if (found.size() == 1 && found.get(0).equals(path)) {
            return found; // the folder itself, named on the command line: the user's choice
        }
        List<Path> dirs = new ArrayList<>();
        for (Path d : found) {
            if (d.getFileName().toString().startsWith(".")) {
                err.println("warning: skipped " + d + ": a hidden folder (an unfinished or superseded export's "
                        + "staging copy), not a dictionary; delete it once no export is running");
            } else {
                dirs.add(d);
            }
        }
        if (dirs.isEmpty()) {
            throw new BadInputException(path, "holds no dictionary folder besides hidden staging folders; give a run "
                    + "or a directory with finished dictionaries");
        }
        return dirs;
    }
}
