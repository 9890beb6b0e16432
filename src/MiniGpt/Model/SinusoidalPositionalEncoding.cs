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
        table = Table(PositionRows.First(blockSize), d, float32);
        // Persistent: TorchSharp's .to() moves only persistent buffers. Checkpoints hold parameters alone.
        register_buffer(nameof(table), table);
    }

    /// <summary>Positions the table holds now.</summary>
    public long Rows => table.size(0);

    /// <summary>
    /// The encoding table for positions 0 … rows−1, width d: computed in float64, returned in <paramref name="dtype"/>.
    /// It is made a slice of rows at a time (<paramref name="chunkElements"/> values): whole, the float64 work for
    /// a block of 2^20 (export writes the table of a sinusoidal model) took five times the table's size at once.
    /// </summary>
    public static Tensor Table(long rows, long d, ScalarType dtype, long chunkElements = 1 << 22)
    {
        using var _ = NewDisposeScope();
        var pe = empty(rows, d, dtype: dtype);                                 // (T, d)
        var scale = pow(10000.0, arange(0, d, 2, dtype: float64) / d);         // (⌈d/2⌉)
        long step = Math.Max(1, chunkElements / Math.Max(d, 1));
        for (long start = 0; start < rows; start += step)
        {
            using var slice = NewDisposeScope();
            long n = Math.Min(step, rows - start);
            var angle = arange(start, start + n, dtype: float64).unsqueeze(1) / scale;   // (n, ⌈d/2⌉)
            var part = zeros(n, d, dtype: float64);                                       // (n, d)
            part[TensorIndex.Colon, TensorIndex.Slice(0, null, 2)] = sin(angle);
            part[TensorIndex.Colon, TensorIndex.Slice(1, null, 2)] = cos(angle).narrow(1, 0, d / 2);
            pe.narrow(0, start, n).copy_(part);
        }
        return pe.MoveToOuterDisposeScope();
    }

    public override Tensor forward(long start, long T)
    {
        if (start + T > blockSize)
            throw new ArgumentOutOfRangeException(nameof(T), $"positions up to {start + T - 1} exceed block_size {blockSize}");
        if (start + T > Rows)
        {
            var old = table;
            // Outside the caller's dispose scope: a sampling step's would free it at the step's end. An ordinary tensor
            // even when grown in inference mode, as rotary's tables are: whatever uses it after may be autograd.
            using (NewDisposeScope())
            using (inference_mode(false))
                table = Table(PositionRows.Grown(Rows, start + T, blockSize), d, float32).to(old.dtype).to(old.device).DetachFromDisposeScope();
            ConditionallyRegisterBuffer(nameof(table), table);
            old.Dispose();
        }
        return table.narrow(0, start, T);   // (T, C)
    }
}
