package dev.saetrain.io;

/** Element types the readers and writers understand, with their names in each file format. */
public enum DType {
    F32(4, "<f4", "F32"),
    F16(2, "<f2", "F16"),
    BF16(2, null, "BF16"),
    I32(4, "<i4", "I32"),
    I64(8, "<i8", "I64");

    private final int bytes;
    private final String npyDescr;
    private final String safetensorsName;

    DType(int bytes, String npyDescr, String safetensorsName) {
        this.bytes = bytes;
        this.npyDescr = npyDescr;
        this.safetensorsName = safetensorsName;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** The numpy {@code descr} string, or null where numpy has no such type (bf16). */
    public String npyDescr() {
        return npyDescr;
    }

    /** The safetensors {@code dtype} string. */
    public String safetensorsName() {
        return safetensorsName;
    }
}
