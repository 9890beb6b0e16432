using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Softmax (FORMULAS §8): <c>softmax(z)_i = e^{z_i − max z} / Σ_j e^{z_j − max z}</c> over the last dimension.
/// Subtracting <c>max z</c> changes nothing mathematically and keeps <c>exp</c> from overflowing.
/// </summary>
public sealed class Softmax : nn.Module<Tensor, Tensor>
{
    readonly bool fused;

    public Softmax(bool fused) : base(nameof(Softmax)) => this.fused = fused;

    public override Tensor forward(Tensor z)   // z: (..., N)
    {
        if (fused) return z.softmax(-1);
        // max is a constant shift: detaching it keeps its (zero) gradient out of the graph.
        var e = exp(z - z.amax([-1], keepdim: true).detach());   // (..., N)
        return e / e.sum([-1], keepdim: true);                     // (..., N)
    }
}
