using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Linear transformation (FORMULAS §1): <c>y = W x + b</c>, with <c>W</c> of shape (d_out, d_in).
/// Applied to row vectors this is <c>y = x Wᵀ + b</c>. GPT-2 initialisation: W ~ N(0, std), b = 0.
/// With a <see cref="ComputeDtype"/> (bfloat16 mixed precision) x, W and b are cast for the product while the
/// parameters stay float32, so gradients flow back to float32 master weights through the casts.
/// </summary>
public sealed class Linear : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;   // (d_out, d_in)
    public readonly Parameter? bias;    // (d_out)

    public Linear(long inFeatures, long outFeatures, bool hasBias, double std = 0.02, Generator? generator = null)
        : base(nameof(Linear))
    {
        weight = nn.Parameter(empty(outFeatures, inFeatures));
        // nn.init.normal_ ignores its generator; Tensor.normal_ honours it, so a seed fixes the weights.
        using (no_grad()) weight.normal_(0.0, std, generator);
        if (hasBias) bias = nn.Parameter(zeros(outFeatures));
        RegisterComponents();
    }

    public ScalarType? ComputeDtype { get; set; }

    /// <summary>
    /// Optional: W already in <see cref="ComputeDtype"/>, kept equal to cast(W) by its owner, so a forward
    /// need not cast W again. Its gradient goes to the owner, which adds it into W's.
    /// </summary>
    public Tensor? ComputeWeight { get; set; }

    public override Tensor forward(Tensor x)   // x: (..., d_in)
    {
        if (ComputeDtype is { } cd && (x.dtype != cd || weight.dtype != cd))
        {
            var yc = matmul(x.to(cd), (ComputeWeight ?? weight.to(cd)).t());   // (..., d_out) in cd
            return bias is null ? yc : yc + bias.to(cd);           // (..., d_out)
        }
        // One call rather than three (transpose, product, sum). Without a bias it is the very same product; with one,
        // ATen may fold the bias into the product (addmm), equal up to rounding.
        return nn.functional.linear(x, weight, bias);   // (..., d_out)
    }
}
