using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// GELU (FORMULAS §7): <c>GELU(x) = x Φ(x) = ½ x (1 + erf(x / √2))</c>; with <c>tanh</c> approximation
/// <c>½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))</c>.
/// </summary>
public sealed class Gelu : nn.Module<Tensor, Tensor>
{
    readonly bool approximateTanh;
    /// <summary>Whether the fused kernel runs instead of the explicit formula (the two are tested equal, forward and backward).</summary>
    public bool Fused { get; set; }

    public Gelu(bool approximateTanh, bool fused) : base(nameof(Gelu))
    {
        this.approximateTanh = approximateTanh;
        Fused = fused;
    }

    public override Tensor forward(Tensor x)
    {
        if (Fused)
            return nn.functional.gelu(x, approximateTanh ? TorchSharp.Modules.GELU.Approximate.tanh : TorchSharp.Modules.GELU.Approximate.none);
        if (approximateTanh)
            return 0.5 * x * (1.0 + tanh(Math.Sqrt(2.0 / Math.PI) * (x + 0.044715 * x * x * x)));
        return 0.5 * x * (1.0 + erf(x / Math.Sqrt(2.0)));
    }
}
