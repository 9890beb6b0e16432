using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Rotary position embedding (RoFormer; the half-split layout of GPT-NeoX and LLaMA): each query and key
/// at position m is rotated pairwise, <c>[x₁, x₂] ↦ [x₁ cos mθ − x₂ sin mθ, x₂ cos mθ + x₁ sin mθ]</c>, where
/// x₁, x₂ are the two halves of a head and <c>θ_i = 10000^(−2i/hs)</c>. Then <c>⟨R_m q, R_n k⟩</c> depends on
/// m − n only: attention sees relative positions, and there is no position table to learn.
/// </summary>
public sealed class RotaryEmbedding : nn.Module<Tensor, long, Tensor>
{
    // (block_size, hs), non-trainable: [cos mθ, cos mθ] and [−sin mθ, sin mθ], so that with the halves swapped,
    // x ↦ x ⊙ cos + swap(x) ⊙ sin is the rotation above, done on the whole head at once.
    readonly Tensor cos, sin;

    public RotaryEmbedding(long headSize, long blockSize, double theta = 10000.0) : base(nameof(RotaryEmbedding))
    {
        if (headSize % 2 != 0) throw new ArgumentException($"rotary embedding needs an even head size, got {headSize}");
        using var _ = NewDisposeScope();
        var inv = pow(theta, -arange(0, headSize, 2, dtype: float64) / headSize);      // (hs/2)
        var angle = outer(arange(blockSize, dtype: float64), inv);                      // (T, hs/2)
        cos = cat([angle.cos(), angle.cos()], -1).to(float32).MoveToOuterDisposeScope();     // (T, hs)
        sin = cat([-angle.sin(), angle.sin()], -1).to(float32).MoveToOuterDisposeScope();    // (T, hs)
        // Persistent: TorchSharp's .to() moves only persistent buffers. Checkpoints hold parameters alone.
        register_buffer(nameof(cos), cos);
        register_buffer(nameof(sin), sin);
    }

    /// <param name="x">(B, nh, T, hs) queries or keys</param>
    /// <param name="start">the absolute position of x's first row</param>
    public override Tensor forward(Tensor x, long start)
    {
        long T = x.size(-2), half = x.size(-1) / 2;
        if (start + T > cos.size(0))
            throw new ArgumentOutOfRangeException(nameof(start), $"positions up to {start + T - 1} exceed block_size {cos.shape[0]}");
        var c = cos.dtype == x.dtype ? cos.narrow(0, start, T) : cos.narrow(0, start, T).to(x.dtype);   // (T, hs)
        var s = sin.dtype == x.dtype ? sin.narrow(0, start, T) : sin.narrow(0, start, T).to(x.dtype);   // (T, hs)
        // [x₁, x₂] ⊙ [cos, cos] + [x₂, x₁] ⊙ [−sin, sin] = [x₁ cos − x₂ sin, x₂ cos + x₁ sin]
        var swapped = cat([x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);      // (B, nh, T, hs): [x₂, x₁]
        return x * c + swapped * s;                                                      // (B, nh, T, hs)
    }
}
