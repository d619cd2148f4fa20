package dev.saetrain.analysis;

/** CSV quoting (RFC 4180): a field with a comma, quote or line break is wrapped in quotes, quotes doubled. */
final class Csv {
    private Csv() {
    }

    static String quote(String field) {
        if (field.indexOf(',') < 0 && field.indexOf('"') < 0 && field.indexOf('\n') < 0 && field.indexOf('\r') < 0) {
            return field;
        }
        return '"' + field.replace("\"", "\"\"") + '"';
    }
}
