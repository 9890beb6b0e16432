using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Sinusoidal positional encoding (FORMULAS §2):
/// <c>PE(pos, 2i) = sin(pos / 10000^(2i/d))</c>, <c>PE(pos, 2i+1) = cos(pos / 10000^(2i/d))</c>. No parameters.
/// </summary>
public sealed class SinusoidalPositionalEncoding : nn.Module<long, long, Tensor>
{
    // (rows, C), a non-trainable buffer, for positions as far as a call has reached (PositionRows): a table of a
    // block of 2^20 positions was built whole, in float64, at load (gigabytes and seconds for a five-token sample).
    Tensor table;
    readonly long blockSize, d;

    public SinusoidalPositionalEncoding(long blockSize, long d) : base(nameof(SinusoidalPositionalEncoding))
    {
        (this.blockSize, this.d) = (blockSize, d);
        table = Table(PositionRows.First(blockSize), d, float64).to(float32);
        // Persistent: TorchSharp's .to() moves only persistent buffers. Checkpoints hold parameters alone.
        register_buffer(nameof(table), table);
    }

    /// <summary>Positions the table holds now.</summary>
    public long Rows => table.size(0);

    /// <summary>The encoding table for positions 0 … blockSize−1, width d, in the requested dtype.</summary>
    public static Tensor Table(long blockSize, long d, ScalarType dtype)
    {
        using var _ = NewDisposeScope();
        var pos = arange(blockSize, dtype: dtype).unsqueeze(1);               // (T, 1)
        var twoI = arange(0, d, 2, dtype: dtype);                              // (⌈d/2⌉)
        var angle = pos / pow(10000.0, twoI / d);                              // (T, ⌈d/2⌉)
        var pe = zeros(blockSize, d, dtype: dtype);                            // (T, d)
        pe[TensorIndex.Colon, TensorIndex.Slice(0, null, 2)] = sin(angle);
        pe[TensorIndex.Colon, TensorIndex.Slice(1, null, 2)] = cos(angle).narrow(1, 0, d / 2);
        return pe.MoveToOuterDisposeScope();
    }

    public override Tensor forward(long start, long T)
    {
        if (start + T > blockSize)
            throw new ArgumentOutOfRangeException(nameof(T), $"positions up to {start + T - 1} exceed block_size {blockSize}");
        if (start + T > Rows)
        {
            var old = table;
            // Outside the caller's dispose scope: a sampling step's would free it at the step's end.
            using (NewDisposeScope())
                table = Table(PositionRows.Grown(Rows, start + T, blockSize), d, float64).to(float32).to(old.dtype).to(old.device).DetachFromDisposeScope();
            ConditionallyRegisterBuffer(nameof(table), table);
            old.Dispose();
        }
        return table.narrow(0, start, T);   // (T, C)
    }
}
