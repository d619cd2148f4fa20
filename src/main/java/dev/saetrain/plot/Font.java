package dev.saetrain.plot;

/**
 * A built-in bitmap font for printable ASCII (32..126): glyphs 5 pixels wide and 9 tall (7 above the baseline,
 * 2 of descender), drawn in a 6 x 11 cell, at an integer scale. Other characters draw as '?'. Text runs left to
 * right, or bottom to top ({@link #drawUp}) for a y-axis label.
 */
public final class Font {
    /** Glyph width and height in pixels at scale 1. */
    static final int GLYPH_W = 5;
    static final int GLYPH_H = 9;
    /** Advance per character and line height at scale 1. */
    public static final int CELL_W = 6;
    public static final int CELL_H = 11;

    /**
     * Glyph {@code c} is {@code GLYPHS[c - 32]}: row {@code r} (0 at the top) in bits {@code 5r .. 5r+4}, its
     * column {@code x} (0 at the left) in bit {@code 5r + 4 - x}.
     */
    private static final long[] GLYPHS = {
        0x0L, 0x100421084L, 0x294aL, 0x295f57d4aL, 0x13c5751e4L, 0xe6820b38L, 0x36554524cL, 0x2084L, 0x88842082L,
        0x208210888L, 0x9575480L, 0x84f9080L, 0x82318000000L, 0xf8000L, 0x318000000L, 0x20820820L, 0x3a39ace2eL,
        0x388421184L, 0x7d041062eL, 0x3a211105fL, 0x85f928c2L, 0x3a210fa1fL, 0x3a31f4106L, 0x21082083fL,
        0x3a317462eL, 0x30417c62eL, 0x18c03180L, 0x4118c03180L, 0x88882082L, 0x1f07c00L, 0x208208888L, 0x10041062eL,
        0x3e17ade2eL, 0x4631fc62eL, 0x7a31f463eL, 0x3a308422eL, 0x72518c65cL, 0x7e10f421fL, 0x4210f421fL,
        0x3e31bc22eL, 0x4631fc631L, 0x38842108eL, 0x324210847L, 0x4654c5251L, 0x7e1084210L, 0x4631ad771L,
        0x4633ae631L, 0x3a318c62eL, 0x4210f463eL, 0x36558c62eL, 0x4654f463eL, 0x78217420fL, 0x10842109fL,
        0x3a318c631L, 0x11518c631L, 0x2ab5ac631L, 0x462a22a31L, 0x108422a31L, 0x7e082083fL, 0x39084210eL, 0x2222200L,
        0x38421084eL, 0x4544L, 0xf800000000L, 0x888L, 0x3e2f0b800L, 0x7a31cda10L, 0x3a3083800L, 0x3e319b421L,
        0x3a1f8b800L, 0x2108e2126L, 0xe885f18bc00L, 0x4631cda10L, 0x388423004L, 0xc9084211802L, 0x4a98a4a10L,
        0x38842108cL, 0x56b5ae800L, 0x4631cd800L, 0x3a318b800L, 0x10843d18f800L, 0x1085f18bc00L, 0x4210cd800L,
        0x782e83c00L, 0x192847108L, 0x36718c400L, 0x11518c400L, 0x2ab58c400L, 0x454454400L, 0xe885f18c400L,
        0x7d0417c00L, 0x88441082L, 0x108421084L, 0x208411088L, 0x2aa000L
    };

    private Font() {
    }

    /** Whether pixel {@code (x, y)} of the glyph for {@code c} is on ({@code 0 <= x < 5}, {@code 0 <= y < 9}). */
    static boolean on(char c, int x, int y) {
        long g = GLYPHS[(c >= 32 && c <= 126 ? c : '?') - 32];
        return (g >>> (GLYPH_W * y + GLYPH_W - 1 - x) & 1) != 0;
    }

    /** The width in pixels of {@code text} at {@code scale}. */
    public static int width(String text, int scale) {
        return Math.max(0, text.length() * CELL_W - 1) * scale;
    }

    /** Draws {@code text} with the top left of its first cell at {@code (x, y)}. */
    public static void draw(Image image, int x, int y, String text, int rgb, int scale) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            for (int gy = 0; gy < GLYPH_H; gy++) {
                for (int gx = 0; gx < GLYPH_W; gx++) {
                    if (on(c, gx, gy)) {
                        int px = x + (i * CELL_W + gx) * scale;
                        image.fill(px, y + gy * scale, px + scale - 1, y + gy * scale + scale - 1, rgb);
                    }
                }
            }
        }
    }

    /**
     * Draws {@code text} turned a quarter left (reading upwards), the text's start at the bottom: {@code (x, y)} is
     * the bottom left of the turned first cell, so the text occupies {@code x .. x + CELL_H*scale - 1} and
     * {@code y - width + 1 .. y}.
     */
    public static void drawUp(Image image, int x, int y, String text, int rgb, int scale) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            for (int gy = 0; gy < GLYPH_H; gy++) {
                for (int gx = 0; gx < GLYPH_W; gx++) {
                    if (on(c, gx, gy)) {
                        int px = x + gy * scale;
                        int py = y - (i * CELL_W + gx) * scale;
                        image.fill(px, py - scale + 1, px + scale - 1, py, rgb);
                    }
                }
            }
        }
    }
}
