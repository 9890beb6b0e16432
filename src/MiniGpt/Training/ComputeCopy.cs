using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>
/// Mixed precision's low-precision weights, all in one buffer: <c>θ̃ = cast(θ[0:M])</c> over the matrix prefix
/// of a <see cref="FlatParameters"/> buffer (bfloat16), with a gradient buffer <c>g̃</c> beside it.
/// One kernel refreshes every copy after an update, where casting in each layer would cost one kernel per
/// matrix per forward and another per backward. Each matrix's view of θ̃ is a leaf whose gradient lands in
/// g̃; <see cref="FlushGrad"/> adds g̃ into the float32 g after each backward, so master weights, moments and
/// gradient accumulation stay float32. The result equals casting in each layer bit for bit (tested).
/// </summary>
public sealed class ComputeCopy : IDisposable
{
    readonly FlatParameters flat;
    readonly Dictionary<IntPtr, Tensor> views = [];
    public Tensor Data { get; }   // (M) in the compute dtype
    public Tensor Grad { get; }   // (M) in the compute dtype

    public ComputeCopy(FlatParameters flat, ScalarType dtype)
    {
        this.flat = flat;
        long M = flat.MatrixCount;
        var device = flat.Data.device;
        Data = zeros(M, dtype: dtype, device: device);
        Grad = zeros(M, dtype: dtype, device: device);
        foreach (var e in flat.Entries.Where(e => e.Offset < M))
        {
            var w = Data.narrow(0, e.Offset, e.Length).view(e.Param.shape).requires_grad_(true);
            w.grad = Grad.narrow(0, e.Offset, e.Length).view(e.Param.shape);
            views[e.Param.Handle] = w;
        }
        Refresh();
    }

    /// <summary>The compute-dtype view of a matrix parameter, or null for a vector (kept in float32).</summary>
    public Tensor? ViewOf(Parameter p) => views.GetValueOrDefault(p.Handle);

    /// <summary>θ̃ ← cast(θ): after every change to the master weights (an update, a load).</summary>
    public void Refresh()
    {
        using var _ = no_grad();
        Data.copy_(flat.Data.narrow(0, 0, Data.shape[0]));
    }

    /// <summary>g ← g + g̃, g̃ ← 0: after every backward, so g̃ never accumulates in low precision.</summary>
    public void FlushGrad()
    {
        using var _ = no_grad();
        flat.Grad.narrow(0, 0, Grad.shape[0]).add_(Grad);
        Grad.zero_();
    }

    public void Dispose()
    {
        foreach (var w in views.Values) w.Dispose();
        Data.Dispose();
        Grad.Dispose();
    }
}
