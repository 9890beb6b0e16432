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
    // (rows, hs), non-trainable: [cos mθ, cos mθ] and [−sin mθ, sin mθ], so that with the halves swapped,
    // x ↦ x ⊙ cos + swap(x) ⊙ sin is the rotation above, done on the whole head at once. Rows for positions as far
    // as a call has reached (PositionRows), not block_size: a block of 2^20 made every layer hold 2^20 rows from
    // the start, and a checkpoint of 1,024 thin layers asked tens of gigabytes to sample five tokens.
    Tensor cos, sin;
    readonly long headSize, blockSize;
    readonly double theta;

    /// <summary>The base of the angles, θ_i = Theta^(−2i/hs).</summary>
    public const double Theta = 10000.0;

    public RotaryEmbedding(long headSize, long blockSize, double theta = Theta) : base(nameof(RotaryEmbedding))
    {
        if (headSize % 2 != 0) throw new ArgumentException($"rotary embedding needs an even head size, got {headSize}");
        (this.headSize, this.blockSize, this.theta) = (headSize, blockSize, theta);
        (cos, sin) = Tables(PositionRows.First(blockSize), float32, CPU);
        // Persistent: TorchSharp's .to() moves only persistent buffers. Checkpoints hold parameters alone.
        register_buffer(nameof(cos), cos);
        register_buffer(nameof(sin), sin);
    }

    /// <summary>Positions the tables hold now.</summary>
    public long Rows => cos.size(0);

    (Tensor Cos, Tensor Sin) Tables(long rows, ScalarType dtype, Device device) => Tables(rows, headSize, theta, dtype, device);

    /// <summary>
    /// The tables for positions 0 … rows−1 of a head of <paramref name="headSize"/>, (rows, hs) each:
    /// [cos mθ, cos mθ] and [−sin mθ, sin mθ], the angles in float64. They belong to no dispose scope: the caller disposes them.
    /// </summary>
    internal static (Tensor Cos, Tensor Sin) Tables(long rows, long headSize, double theta, ScalarType dtype, Device device)
    {
        // Outside the caller's dispose scope (a sampling step's would free them at its end), and normal tensors even when grown
        // in inference mode: training multiplies by them after a sample, and autograd cannot save an inference tensor.
        using var _ = NewDisposeScope();
        using var normal = inference_mode(false);
        var inv = pow(theta, -arange(0, headSize, 2, dtype: float64) / headSize);           // (hs/2)
        var angle = outer(arange(rows, dtype: float64), inv);                               // (rows, hs/2)
        var c = cat([angle.cos(), angle.cos()], -1).to(float32).to(dtype).to(device);        // (rows, hs)
        var s = cat([-angle.sin(), angle.sin()], -1).to(float32).to(dtype).to(device);       // (rows, hs)
        return (c.DetachFromDisposeScope(), s.DetachFromDisposeScope());
    }

    /// <param name="x">(B, nh, T, hs) queries or keys</param>
    /// <param name="start">the absolute position of x's first row</param>
    public override Tensor forward(Tensor x, long start)
    {
        long T = x.size(-2), half = x.size(-1) / 2;
        if (start + T > blockSize)
            throw new ArgumentOutOfRangeException(nameof(start), $"positions up to {start + T - 1} exceed block_size {blockSize}");
        if (start + T > Rows)
        {
            var (c0, s0) = (cos, sin);
            (cos, sin) = Tables(PositionRows.Grown(Rows, start + T, blockSize), c0.dtype, c0.device);
            ConditionallyRegisterBuffer(nameof(cos), cos);
            ConditionallyRegisterBuffer(nameof(sin), sin);
            c0.Dispose(); s0.Dispose();
        }
        var c = cos.dtype == x.dtype ? cos.narrow(0, start, T) : cos.narrow(0, start, T).to(x.dtype);   // (T, hs)
        var s = sin.dtype == x.dtype ? sin.narrow(0, start, T) : sin.narrow(0, start, T).to(x.dtype);   // (T, hs)
        // [x₁, x₂] ⊙ [cos, cos] + [x₂, x₁] ⊙ [−sin, sin] = [x₁ cos − x₂ sin, x₂ cos + x₁ sin]
        var swapped = cat([x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);      // (B, nh, T, hs): [x₂, x₁]
        return x * c + swapped * s;                                                      // (B, nh, T, hs)
    }
}
