package dev.saetrain.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * An exported dictionary read back from its files alone (no production reader) and run the way the target tool
 * documents it, in double precision:
 * <ul>
 *   <li>SAELens ({@code cfg.json} + {@code sae_weights.safetensors}, or the npy export's files with the same
 *       cfg.json): x_in = x - b_dec if {@code apply_b_dec_to_input}; pre = x_in W_enc + b_enc; "topk": the k largest,
 *       ReLU; "standard": ReLU; "jumprelu": relu(pre) * 1[pre > threshold]; "gated": 1[x_in W_enc + b_gate > 0]
 *       * relu(x_in (W_enc exp(r_mag)) + b_mag); x_hat = f W_dec + b_dec.</li>
 *   <li>sparsify ({@code cfg.json} + {@code sae.safetensors}): pre = (x - b_dec) encoder.weight^T + encoder.bias,
 *       ReLU, the k largest; x_hat = f W_dec + b_dec.</li>
 * </ul>
 *
 * @param arch             SAELens architecture, or "sparsify-topk"
 * @param promisesUnitNorm what the config promises about decoder rows
 * @param t                tensors by name, W_enc as [d, m]
 */
public record ExportedSae(String arch, int k, boolean applyBDec, boolean promisesUnitNorm, int d, int m, Map<String, float[]> t) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static ExportedSae saeLens(Path dir) throws IOException {
        Map<String, float[]> t = new HashMap<>();
        TestTensorFiles.readSafetensors(dir.resolve("sae_weights.safetensors")).forEach((k, v) -> t.put(k, v.values()));
        return fromSaeLensCfg(dir, t);
    }

    public static ExportedSae npy(Path dir) throws IOException {
        Map<String, float[]> t = new HashMap<>();
        try (var files = Files.list(dir)) {
            for (Path p : files.filter(p -> p.toString().endsWith(".npy")).toList()) {
                String name = p.getFileName().toString();
                t.put(name.substring(0, name.length() - 4), TestTensorFiles.readNpy(p).values());
            }
        }
        return fromSaeLensCfg(dir, t);
    }

    private static ExportedSae fromSaeLensCfg(Path dir, Map<String, float[]> t) throws IOException {
        JsonNode cfg = JSON.readTree(dir.resolve("cfg.json").toFile());
        String arch = cfg.get("architecture").textValue();
        JsonNode unit = cfg.at("/metadata/sae_train/decoder_unit_norm");
        if (!unit.isBoolean()) {
            throw new AssertionError(dir + ": cfg.json says nothing about the decoder rows' norms");
        }
        return new ExportedSae(arch, arch.equals("topk") ? cfg.get("k").intValue() : 0,
                cfg.get("apply_b_dec_to_input").booleanValue(), unit.booleanValue(), cfg.get("d_in").intValue(),
                cfg.get("d_sae").intValue(), t);
    }

    public static ExportedSae sparsify(Path dir) throws IOException {
        JsonNode cfg = JSON.readTree(dir.resolve("cfg.json").toFile());
        int d = cfg.get("d_in").intValue();
        int m = cfg.get("num_latents").intValue();
        Map<String, float[]> t = new HashMap<>();
        TestTensorFiles.readSafetensors(dir.resolve("sae.safetensors")).forEach((k, v) -> t.put(k, v.values()));
        float[] encT = t.get("encoder.weight");
        float[] wEnc = new float[d * m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < d; j++) {
                wEnc[j * m + i] = encT[i * d + j];
            }
        }
        t.put("W_enc", wEnc);
        t.put("b_enc", t.get("encoder.bias"));
        if (!cfg.get("activation").textValue().equals("topk")) {
            throw new AssertionError("unexpected sparsify activation " + cfg.get("activation"));
        }
        return new ExportedSae("sparsify-topk", cfg.get("k").intValue(), true, cfg.get("normalize_decoder").booleanValue(),
                d, m, t);
    }

    double decoderRowNorm(int i) {
        double s = 0;
        for (int j = 0; j < d; j++) {
            double v = t.get("W_dec")[i * d + j];
            s += v * v;
        }
        return Math.sqrt(s);
    }

    /** x_hat for one raw row x [d]. */
    public double[] forward(float[] x) {
        return decode(latents(x));
    }

    /** The latents f [m] of one raw row x [d]. */
    public double[] latents(float[] x) {
        float[] wEnc = t.get("W_enc");
        float[] bDec = t.get("b_dec");
        boolean gated = arch.equals("gated");
        float[] bias = t.get(gated ? "b_gate" : "b_enc");
        double[] product = new double[m];
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                s += (x[j] - (applyBDec ? (double) bDec[j] : 0)) * wEnc[j * m + i];
            }
            product[i] = s;
        }
        double[] f = new double[m];
        switch (arch) {
            case "topk", "sparsify-topk" -> {
                boolean[] taken = new boolean[m];
                for (int r = 0; r < k; r++) {
                    int best = -1;
                    for (int i = 0; i < m; i++) {
                        if (!taken[i] && (best < 0 || product[i] + bias[i] > product[best] + bias[best])) {
                            best = i;
                        }
                    }
                    taken[best] = true;
                    f[best] = Math.max(0, product[best] + bias[best]);
                }
            }
            case "standard" -> {
                for (int i = 0; i < m; i++) {
                    f[i] = Math.max(0, product[i] + bias[i]);
                }
            }
            case "jumprelu" -> {
                float[] theta = t.get("threshold");
                for (int i = 0; i < m; i++) {
                    double pre = product[i] + bias[i];
                    f[i] = pre > theta[i] ? Math.max(0, pre) : 0;
                }
            }
            case "gated" -> {
                float[] bMag = t.get("b_mag");
                float[] rMag = t.get("r_mag");
                for (int i = 0; i < m; i++) {
                    double mag = product[i] * Math.exp(rMag[i]) + bMag[i];
                    f[i] = product[i] + bias[i] > 0 ? Math.max(0, mag) : 0;
                }
            }
            default -> throw new AssertionError("unexpected architecture " + arch);
        }
        return f;
    }

    /** x_hat = f W_dec + b_dec [d] of latents f [m]. */
    public double[] decode(double[] f) {
        float[] bDec = t.get("b_dec");
        double[] out = new double[d];
        float[] wDec = t.get("W_dec");
        for (int j = 0; j < d; j++) {
            out[j] = bDec[j];
        }
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < d && f[i] != 0; j++) {
                out[j] += f[i] * wDec[i * d + j];
            }
        }
        return out;
    }
}
