namespace MiniGpt.Model;

public enum PositionEncoding { Learned, Sinusoidal, Rotary }

/// <summary>The MLP's nonlinearity: exact GELU (nanoGPT), or its tanh approximation (GPT-2's gelu_new).</summary>
public enum Activation
{
    Gelu,
    [System.Text.Json.Serialization.JsonStringEnumMemberName("gelu_tanh")] GeluTanh,
}

/// <summary>
/// The model's shape. Names follow nanoGPT's GPTConfig. The model trusts it: the rules a shape must obey are
/// stated once, on the training config's keys (MiniGpt.Config.TrainConfig), which every config passes.
/// </summary>
/// <param name="Fused">Use TorchSharp's fused kernels (layer_norm, gelu, scaled_dot_product_attention, dropout,
/// cross_entropy) instead of the explicit formulas; tests prove both agree.</param>
public sealed record GptConfig(
    int VocabSize,
    int BlockSize,
    int NLayer,
    int NHead,
    int NEmbd,
    double Dropout = 0.0,
    bool Bias = false,
    bool Fused = true,
    PositionEncoding PositionEncoding = PositionEncoding.Learned,
    Activation Activation = Activation.Gelu,
    int? NInner = null,
    double LayerNormEpsilon = 1e-5)
{
    /// <summary>The MLP's hidden width: n_inner, or 4·C when none is given (GPT-2's rule).</summary>
    public int MlpWidth => NInner ?? 4 * NEmbd;

    /// <summary>GPT-2 scales the init of each residual projection by 1/√(2·n_layer): 2 residual adds per block.</summary>
    public double ResidualInitStd => 0.02 / Math.Sqrt(2.0 * NLayer);

    public int HeadSize => NEmbd / NHead;

    /// <summary>
    /// The trainable scalars this shape makes, counted without building it (nanoGPT's get_num_params, position
    /// table included): E (V·C), a learned P (T·C), per block 4C² in attention and 2CI in the MLP (I its
    /// width) plus two LayerNorm gains (and 5C + I of biases with bias), and the final LayerNorm.
    /// </summary>
    public long ParameterCount
    {
        get
        {
            long C = NEmbd, I = MlpWidth, perNorm = Bias ? 2 * C : C;
            long block = 4 * C * C + 2 * C * I + (Bias ? 5 * C + I : 0) + 2 * perNorm;
            return VocabSize * C + (PositionEncoding == PositionEncoding.Learned ? BlockSize * C : 0) + NLayer * block + perNorm;
        }
    }
}
