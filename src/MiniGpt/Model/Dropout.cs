using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Inverted dropout (FORMULAS §10): in training <c>y = m ⊙ x / (1 − p)</c>, <c>m_i ~ Bernoulli(1 − p)</c>;
/// in evaluation <c>y = x</c>. The 1/(1 − p) scale keeps the expected activation unchanged.
/// </summary>
public sealed class Dropout : nn.Module<Tensor, Tensor>
{
    readonly double p;
    /// <summary>Whether the fused kernel runs instead of the explicit formula (the two are tested equal, forward and backward).</summary>
    public bool Fused { get; set; }

    public Dropout(double p, bool fused) : base(nameof(Dropout))
    {
        if (p < 0 || p >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout must be in [0, 1)");
        this.p = p;
        Fused = fused;
    }

    public double P => p;

    public override Tensor forward(Tensor x)
    {
        if (!training || p == 0) return x;
        if (Fused) return nn.functional.dropout(x, p, training: true);
        var m = (rand_like(x) >= p).to(x.dtype);   // same shape as x, 1 with probability 1 − p
        return x * m / (1.0 - p);
    }
}
