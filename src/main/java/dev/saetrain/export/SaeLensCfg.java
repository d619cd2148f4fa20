package dev.saetrain.export;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saetrain.model.Architecture;
import dev.saetrain.model.SaeConfig;

/**
 * The {@code cfg.json} of a SAELens (>= 6) dictionary folder, as {@code SAE.load_from_disk} reads it.
 *
 * <p>Checked against SAELens 6.18.0 ({@code sae_lens/saes/sae.py}: {@code SAEConfig}, {@code SAEConfig.from_dict},
 * {@code SAE.load_from_disk}; {@code sae_lens/loading/pretrained_sae_loaders.py}: {@code sae_lens_disk_loader},
 * {@code handle_config_defaulting}; {@code standard_sae.py}, {@code topk_sae.py}). What matters to that loader:
 * <ul>
 *   <li>{@code architecture} picks the config and SAE class from the registry ("standard", "topk").</li>
 *   <li>{@code SAEConfig.from_dict} keeps only the dataclass fields (unknown top-level keys are dropped, so
 *       nothing of ours goes at the top level) and copies {@code metadata} into {@code SAEMetadata}, which
 *       accepts any keys; our own block lives in {@code metadata.sae_train}.</li>
 *   <li>Only {@code d_in} and {@code d_sae} have no default; we still write every field so the file says
 *       what the loader will do rather than relying on defaults.</li>
 *   <li>{@code handle_config_defaulting} runs the pre-6.0 conversion when {@code metadata.sae_lens_version}
 *       is missing or below 6.0.0, which would rebuild the config from legacy keys; so we must write a
 *       version >= 6. We write {@value #SAE_LENS_FORMAT_VERSION}: the config format we follow, not a claim that
 *       SAELens wrote the file ({@code sae_lens_training_version} stays null for that reason).</li>
 *   <li>JumpReLU ({@code jumprelu_sae.py}, {@code JumpReLUSAEConfig}): no fields beyond the base config; the
 *       weights file adds {@code threshold} [d_sae] (theta itself, not its log) and the SAE computes
 *       relu(pre) * 1[pre > threshold]. BatchTopK SAEs are exported in this form too, with the estimated
 *       threshold for every latent, as SAELens's {@code batchtopk_sae.py} saves them for inference. Matryoshka SAEs
 *       too: the nesting is a training loss, and at inference the SAE is a plain JumpReLU over all latents; the groups
 *       are recorded in {@code metadata.sae_train.groups}.</li>
 *   <li>Gated ({@code gated_sae.py}, {@code GatedSAEConfig}): no fields beyond the base config; the SAE has no
 *       {@code b_enc} (set to None) and the weights file holds W_enc (the gate's weights), W_dec, b_dec, {@code b_gate},
 *       {@code b_mag} and {@code r_mag} [d_sae]; f = 1[x_in W_enc + b_gate > 0] relu(x_in (W_enc exp(r_mag)) + b_mag).</li>
 *   <li>{@code normalize_activations} is "none" because the scale is already folded into the weights, the way
 *       {@link dev.saetrain.model.SaeWeights#foldScale} says: W_enc and W_dec exactly as trained, every bias and
 *       threshold divided by the scale c, so latent activations are the trained ones divided by c. A decoder trained
 *       with unit-norm rows keeps them ({@code metadata.sae_train.decoder_unit_norm}), so a tool that keeps training
 *       the export and renormalises rows changes nothing.</li>
 *   <li>TopK: {@code rescale_acts_by_decoder_norm} false, since our TopK (Gao et al. 2024) ranks raw
 *       pre-activations; SAELens would otherwise multiply them by the decoder row norms before TopK.</li>
 * </ul>
 */
public final class SaeLensCfg {
    /** The SAELens config format version written into {@code metadata.sae_lens_version}. */
    public static final String SAE_LENS_FORMAT_VERSION = "6.0.0";

    /** How {@code folded_scale} entered the weights, for a reader of cfg.json ({@code metadata.sae_train.scale_folding}). */
    public static final String FOLDING = "W_enc and W_dec as trained; b_enc (b_gate), b_dec, threshold and b_mag divided "
            + "by folded_scale; latent activations are the trained ones divided by folded_scale";
    /** Relative tolerance on a decoder row's norm for it to count as a unit-norm row. */
    public static final double UNIT_NORM_TOL = 1e-4;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private SaeLensCfg() {
    }

    /** {@link #toJson(SaeConfig, ExportInfo, boolean)} for weights whose decoder is as the config trains it. */
    public static ObjectNode toJson(SaeConfig config, ExportInfo info) {
        return toJson(config, info, config.unitNormDecoder());
    }

    /**
     * The cfg.json object for {@code config} and {@code info}, keys in a stable order.
     *
     * @param decoderUnitNorm whether every row of the written W_dec has unit norm (recorded, never assumed)
     */
    public static ObjectNode toJson(SaeConfig config, ExportInfo info, boolean decoderUnitNorm) {
        ObjectNode root = JSON.createObjectNode();
        root.put("architecture", config.arch().saeLensName());
        root.put("d_in", config.dIn());
        root.put("d_sae", config.nLatents());
        root.put("dtype", "float32");
        root.put("device", "cpu");
        root.put("apply_b_dec_to_input", config.applyBDecToInput());
        root.put("normalize_activations", "none");
        root.put("reshape_activations", "none");
        switch (config.arch()) {
            case TOPK -> {
                root.put("k", config.k());
                root.put("rescale_acts_by_decoder_norm", false);
            }
            case RELU, RELU_2023, BATCHTOPK, JUMPRELU, MATRYOSHKA, GATED -> {
                // "standard", "jumprelu" and "gated" have no fields beyond the base SAEConfig.
            }
        }
        ObjectNode meta = root.putObject("metadata");
        meta.put("sae_lens_version", SAE_LENS_FORMAT_VERSION);
        meta.putNull("sae_lens_training_version");
        meta.put("model_name", info.modelName());
        meta.put("hook_name", info.hookName());
        meta.putNull("hook_head_index");
        putNullable(meta, "context_size", info.contextSize());
        if (info.prependBos() == null) {
            meta.putNull("prepend_bos");
        } else {
            meta.put("prepend_bos", info.prependBos());
        }
        meta.put("dataset_path", info.datasetPath());
        ObjectNode ours = meta.putObject("sae_train");
        ours.put("version", info.saeTrainVersion());
        ours.put("run_name", info.runName());
        ours.put("architecture", config.arch().cliName());
        ours.put("training_tokens", info.trainingTokens());
        ours.put("folded_scale", info.foldedScale());
        ours.put("scale_folding", FOLDING);
        ours.put("decoder_unit_norm", decoderUnitNorm);
        if (info.training() != null) {
            ExportInfo.Training t = info.training();
            ours.put("lr", t.lr());
            ours.put("lr_warmup_steps", t.lrWarmupSteps());
            ours.put("lr_decay_fraction", t.lrDecayFraction());
            ours.put("l1_warmup_fraction", t.l1WarmupFraction());
            ours.put("b_dec_init", t.bDecInit());
            ours.put("normalize", t.normalize());
            ours.put("auxk_coef", t.auxkCoef());
            ours.put("adam_eps", t.adamEps());
        }
        if (config.arch() == Architecture.RELU || config.arch() == Architecture.RELU_2023
                || config.arch() == Architecture.GATED) {
            ours.put("l1", config.l1());
        }
        // Tied SAEs are exported untied (W_enc = W_dec^T written out), so SAELens loads a normal SAE.
        ours.put("tied", config.tied());
        if (config.arch() == Architecture.BATCHTOPK) {
            ours.put("k", config.k());
            ours.put("threshold_rule", "EMA (rate " + SaeConfig.BATCHTOPK_THRESHOLD_RATE
                    + ") of the smallest kept activation per batch (Bussmann et al. 2024)");
        }
        if (config.arch() == Architecture.MATRYOSHKA) {
            ours.put("k", config.k());
            ours.put("threshold_rule", "EMA (rate " + SaeConfig.BATCHTOPK_THRESHOLD_RATE
                    + ") of the smallest kept activation per batch (Bussmann et al. 2024)");
            ArrayNode groups = ours.putArray("groups");
            config.groups().forEach(groups::add);
            ours.put("loss", "sum over the nested prefixes [0, groups[0] + ... + groups[j]) of their mse, plus AuxK "
                    + "(Bussmann et al. 2025)");
        }
        if (config.arch() == Architecture.JUMPRELU) {
            ours.put("l0_coefficient", config.l1());
            ours.put("bandwidth", config.jumpReluBandwidth());
            if (info.training() != null) {
                ours.put("threshold_lr_factor", info.training().thresholdLrFactor());
            }
        }
        return root;
    }

    /** {@link #toJson} as pretty-printed UTF-8 text ending in a newline. */
    public static String toText(SaeConfig config, ExportInfo info, boolean decoderUnitNorm) {
        try {
            return JSON.writeValueAsString(toJson(config, info, decoderUnitNorm)) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise an in-memory JSON tree", e);
        }
    }

    private static void putNullable(ObjectNode node, String key, Integer value) {
        if (value == null) {
            node.putNull(key);
        } else {
            node.put(key, value.intValue());
        }
    }
}
