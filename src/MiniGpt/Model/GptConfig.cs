namespace MiniGpt.Model;

public enum PositionEncoding { Learned, Sinusoidal, Rotary }

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
    PositionEncoding PositionEncoding = PositionEncoding.Learned)
{
    /// <summary>GPT-2 scales the init of each residual projection by 1/√(2·n_layer): 2 residual adds per block.</summary>
    public double ResidualInitStd => 0.02 / Math.Sqrt(2.0 * NLayer);

    public int HeadSize => NEmbd / NHead;

    /// <summary>
    /// The trainable scalars this shape makes, counted without building it (nanoGPT's get_num_params, position
    /// table included): E (V·C), a learned P (T·C), per block 12C² in the four matrices plus two LayerNorm
    /// gains (and 9C of biases with bias), and the final LayerNorm.
    /// </summary>
    public long ParameterCount
    {
        get
        {
            long C = NEmbd, perNorm = Bias ? 2 * C : C;
            long block = 12 * C * C + (Bias ? 9 * C : 0) + 2 * perNorm;
            return VocabSize * C + (PositionEncoding == PositionEncoding.Learned ? BlockSize * C : 0) + NLayer * block + perNorm;
        }
    }
}
