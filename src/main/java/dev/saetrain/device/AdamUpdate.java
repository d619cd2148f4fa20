package dev.saetrain.device;

/**
 * The scalars of one Adam step (Kingma and Ba 2015) for {@link Device#adamStep}, and the bias corrections derived
 * from them, computed here once for every device so that all round alike.
 *
 * @param lr        learning rate of this step
 * @param beta1     first-moment decay
 * @param beta2     second-moment decay
 * @param eps       added to the corrected second moment's square root
 * @param gradScale factor applied to the gradient first (the clip factor)
 * @param t         the step number, from 1, that the bias correction uses
 */
public record AdamUpdate(float lr, float beta1, float beta2, float eps, float gradScale, int t) {
    public AdamUpdate {
        if (t < 1) {
            throw new IllegalArgumentException("an Adam step number counts from 1, got " + t);
        }
    }

    /** lr / (1 - beta1^t), the step size with the first moment's bias correction. */
    public float stepSize() {
        return lr / (float) (1 - Math.pow(beta1, t));
    }

    /** 1 / sqrt(1 - beta2^t): sqrt(v / (1 - beta2^t)) = sqrt(v) * invSqrtBc2. */
    public float invSqrtBc2() {
        float bc2 = (float) (1 - Math.pow(beta2, t));
        return (float) (1 / Math.sqrt(bc2));
    }
}
