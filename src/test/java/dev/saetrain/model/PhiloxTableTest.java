package dev.saetrain.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The committed Philox table ({@code philox_table.txt}) against the Java generator. The table was printed by an
 * independent C implementation ({@code philox4x32_10} of src/main/cuda/philox.cu, run on the host; the file and its
 * GPU kernels were removed as unused after commit 227abe7), so it pins {@link Philox#block} to a second
 * implementation for 64-bit seeds, streams and counters with every word set. The first three rows are the Random123
 * known answers (also in PhiloxTest).
 */
class PhiloxTableTest {
    /** One row: inputs and the four expected words. */
    private record Row(long seed, long stream, long counter, int[] words) {
    }

    private static List<Row> table() throws IOException {
        List<Row> rows = new ArrayList<>();
        try (InputStream in = PhiloxTableTest.class.getResourceAsStream("philox_table.txt")) {
            assertNotNull(in, "philox_table.txt is missing from the test resources");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.trim().split("\\s+");
                assertEquals(7, f.length, "bad table line: " + line);
                int[] w = new int[4];
                for (int i = 0; i < 4; i++) {
                    w[i] = Integer.parseUnsignedInt(f[3 + i], 16);
                }
                rows.add(new Row(Long.parseUnsignedLong(f[0], 16), Long.parseUnsignedLong(f[1], 16),
                        Long.parseUnsignedLong(f[2], 16), w));
            }
        }
        return rows;
    }

    @Test
    void javaPhiloxMatchesTheTablePrintedByTheCImplementation() throws IOException {
        List<Row> rows = table();
        assertEquals(13, rows.size());
        int[] got = new int[4];
        for (Row row : rows) {
            Philox.block(row.seed(), row.stream(), row.counter(), got);
            assertArrayEquals(row.words(), got, String.format("seed %x stream %x counter %x",
                    row.seed(), row.stream(), row.counter()));
        }
    }

    @Test
    void theFirstRowsAreTheRandom123KnownAnswers() throws IOException {
        List<Row> rows = table();
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, rows.get(0).words());
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}, rows.get(1).words());
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}, rows.get(2).words());
    }
}
