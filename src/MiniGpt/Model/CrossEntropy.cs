using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Cross-entropy (FORMULAS §9) for a language model: <c>L = mean over (B, T) of −log softmax(logits)[target]</c>,
/// with <c>log softmax(z)_i = z_i − max z − log Σ_j e^{z_j − max z}</c> for stability.
/// </summary>
public sealed class CrossEntropy : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Whether the fused kernel runs instead of the explicit formula (the two are tested equal, forward and backward).</summary>
    public bool Fused { get; set; }

    public CrossEntropy(bool fused) : base(nameof(CrossEntropy)) => Fused = fused;

    /// <param name="logits">(B, T, V) or (N, V)</param>
    /// <param name="targets">(B, T) or (N), int64 class ids</param>
    public override Tensor forward(Tensor logits, Tensor targets)
    {
        var V = logits.size(-1);
        var z = logits.reshape(-1, V);                                          // (N, V)
        var t = targets.reshape(-1);                                            // (N)
        if (Fused) return nn.functional.cross_entropy(z, t);
        var zs = z - z.amax([-1], keepdim: true).detach();                      // (N, V)
        var logp = zs - zs.exp().sum([-1], keepdim: true).log();                // (N, V)
        return -logp.gather(1, t.unsqueeze(1)).mean();                          // ()
    }
}
