namespace MiniGpt.Model;

public enum PositionEncoding { Learned, Sinusoidal, Rotary }

/// <summary>The model's shape. Names follow nanoGPT's GPTConfig.</summary>
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

    /// <summary>Every problem with the shape, each naming its key and value; empty when valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var p = new List<string>();
        if (VocabSize < 1) p.Add($"vocab_size must be ≥ 1, got {VocabSize}");
        if (BlockSize < 1) p.Add($"block_size must be ≥ 1, got {BlockSize}");
        if (NLayer < 1) p.Add($"n_layer must be ≥ 1, got {NLayer}");
        if (NHead < 1) p.Add($"n_head must be ≥ 1, got {NHead}");
        if (NEmbd < 1) p.Add($"n_embd must be ≥ 1, got {NEmbd}");
        else if (NHead >= 1 && NEmbd % NHead != 0) p.Add($"n_embd ({NEmbd}) must be divisible by n_head ({NHead})");
        if (!(Dropout >= 0 && Dropout < 1)) p.Add($"dropout must be in [0, 1), got {Dropout}");
        if (PositionEncoding == PositionEncoding.Sinusoidal && NEmbd % 2 != 0) p.Add($"n_embd ({NEmbd}) must be even for sinusoidal positions");
        if (PositionEncoding == PositionEncoding.Rotary && NHead >= 1 && NEmbd % NHead == 0 && HeadSize % 2 != 0)
            p.Add($"head size n_embd / n_head ({HeadSize}) must be even for rotary positions");
        return p;
    }

    public GptConfig Validated()
    {
        var p = Problems();
        if (p.Count > 0) throw new ArgumentException("invalid model config: " + string.Join("; ", p));
        return this;
    }
}
