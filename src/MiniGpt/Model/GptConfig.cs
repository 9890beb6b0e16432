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
}
