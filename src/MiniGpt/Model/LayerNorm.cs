using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Layer normalization (FORMULAS §6): <c>y = γ ⊙ (x − μ) / √(σ² + ε) + β</c>, with μ and the biased σ²
/// taken over the last dimension. γ = 1; β = 0, and absent when the model has no bias.
/// </summary>
public sealed class LayerNorm : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;   // γ: (C)
    public readonly Parameter? bias;    // β: (C)
    readonly double eps;
    readonly long[] normalizedShape;    // [C], made once: reading a tensor's shape allocates a pinned array each time
    /// <summary>Whether the fused kernel runs instead of the explicit formula (the two are tested equal, forward and backward).</summary>
    public bool Fused { get; set; }

    public LayerNorm(long nEmbd, bool hasBias, bool fused, double eps = 1e-5) : base(nameof(LayerNorm))
    {
        weight = nn.Parameter(ones(nEmbd));
        if (hasBias) bias = nn.Parameter(zeros(nEmbd));
        this.eps = eps;
        normalizedShape = [nEmbd];
        Fused = fused;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)   // x: (..., C)
    {
        if (Fused) return nn.functional.layer_norm(x, normalizedShape, weight, bias, eps);
        var mu = x.mean([-1], keepdim: true);                                   // (..., 1)
        var xc = x - mu;                                                        // (..., C)
        var var_ = (xc * xc).mean([-1], keepdim: true);                         // (..., 1)
        var y = xc * rsqrt(var_ + eps) * weight;                                // (..., C)
        return bias is null ? y : y + bias;                                     // (..., C)
    }
}
