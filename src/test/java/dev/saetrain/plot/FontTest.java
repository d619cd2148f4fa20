package dev.saetrain.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FontTest {
    private static String bits(char c) {
        StringBuilder b = new StringBuilder();
        for (int y = 0; y < Font.GLYPH_H; y++) {
            for (int x = 0; x < Font.GLYPH_W; x++) {
                b.append(Font.on(c, x, y) ? '#' : '.');
            }
        }
        return b.toString();
    }

    @Test
    void everyPrintableCharacterHasItsOwnGlyph() {
        Map<String, Character> seen = new HashMap<>();
        for (char c = 33; c < 127; c++) {
            String g = bits(c);
            assertTrue(g.contains("#"), "glyph for '" + c + "' is blank");
            Character before = seen.put(g, c);
            assertTrue(before == null, "'" + c + "' and '" + before + "' share a glyph");
        }
        assertTrue(!bits(' ').contains("#"));
        assertEquals(bits('?'), bits('\u00e9')); // outside ASCII: '?'
    }

    @Test
    void glyphsHaveTheExpectedShape() {
        assertEquals(".###." + "#...#" + "#...#" + "#####" + "#...#" + "#...#" + "#...#" + "....." + ".....",
                bits('A'));
        assertEquals("....." + "....." + ".####" + "#...#" + "#...#" + ".####" + "....#" + "#...#" + ".###.",
                bits('g'));
    }

    @Test
    void textUpIsTextTurnedAQuarterLeft() {
        String s = "Ab1,g";
        int w = Font.width(s, 2);
        assertEquals((5 * Font.CELL_W - 1) * 2, w);
        Image flat = new Image(w, Font.CELL_H * 2, 0xffffff);
        Image up = new Image(Font.CELL_H * 2, w, 0xffffff);
        Font.draw(flat, 0, 0, s, 0, 2);
        Font.drawUp(up, 0, w - 1, s, 0, 2);
        int ink = 0;
        for (int y = 0; y < flat.height(); y++) {
            for (int x = 0; x < w; x++) {
                assertEquals(flat.get(x, y), up.get(y, w - 1 - x), "at " + x + "," + y);
                ink += flat.get(x, y) == 0 ? 1 : 0;
            }
        }
        assertTrue(ink > 40);
    }
}
