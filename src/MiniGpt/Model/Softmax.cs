using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Softmax (FORMULAS §8): <c>softmax(z)_i = e^{z_i − max z} / Σ_j e^{z_j − max z}</c> over the last dimension.
/// Subtracting <c>max z</c> changes nothing mathematically and keeps <c>exp</c> from overflowing.
/// </summary>
public sealed class Softmax : nn.Module<Tensor, Tensor>
{
    /// <summary>Whether the fused kernel runs instead of the explicit formula (the two are tested equal, forward and backward).</summary>
    public bool Fused { get; set; }

    public Softmax(bool fused) : base(nameof(Softmax)) => Fused = fused;

    public override Tensor forward(Tensor z)   // z: (..., N)
    {
        if (Fused) return z.softmax(-1);
        // max is a constant shift: detaching it keeps its (zero) gradient out of the graph.
        var e = exp(z - z.amax([-1], keepdim: true).detach());   // (..., N)
        return e / e.sum([-1], keepdim: true);                     // (..., N)
    }
}
