using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>
/// All parameters in one contiguous buffer θ (N) and all gradients in another g (N); every parameter and
/// its .grad become views into them. An optimizer step or a norm then costs a handful of kernels over N
/// elements instead of several per tensor. Backward accumulates into the views in place, so <see cref="ZeroGrad"/>
/// must zero the buffer rather than drop the gradients.
/// Matrices (2-D and up) come first, so those that take weight decay are one prefix of the buffer.
/// </summary>
public sealed class FlatParameters : IDisposable
{
    public Tensor Data { get; }   // (N)
    public Tensor Grad { get; }   // (N)
    public IReadOnlyList<Entry> Entries { get; }
    public long Count => Data.shape[0];
    /// <summary>The length of the prefix that holds every matrix (2-D and up) parameter.</summary>
    public long MatrixCount { get; }

    public sealed record Entry(string Name, Parameter Param, long Offset, long Length);

    /// <param name="parameters">Each parameter once (a tied weight must not appear twice).</param>
    public FlatParameters(IEnumerable<(string Name, Parameter Param)> parameters)
    {
        var list = parameters.OrderBy(p => p.Param.dim() >= 2 ? 0 : 1).ToList();   // stable: keeps order within each group
        if (list.Count == 0) throw new ArgumentException("no parameters to flatten");
        if (list.Select(p => p.Param.Handle).Distinct().Count() != list.Count)
            throw new ArgumentException("a parameter is listed twice; an optimizer would update it twice");
        var device = list[0].Param.device;
        var dtype = list[0].Param.dtype;
        long n = list.Sum(p => p.Param.numel());
        Data = zeros(n, dtype: dtype, device: device);
        Grad = zeros(n, dtype: dtype, device: device);
        var entries = new List<Entry>();
        long offset = 0;
        using (no_grad())
        {
            foreach (var (name, p) in list)
            {
                if (p.device_type != device.type || p.device_index != device.index || p.dtype != dtype)
                    throw new ArgumentException($"parameter {name} is {p.dtype} on {p.device}; expected {dtype} on {device}");
                long len = p.numel();
                var slot = Data.narrow(0, offset, len).view(p.shape);
                slot.copy_(p);
                p.set_(slot);
                p.grad = Grad.narrow(0, offset, len).view(p.shape);
                entries.Add(new Entry(name, p, offset, len));
                offset += len;
            }
        }
        Entries = entries;
        MatrixCount = entries.Where(e => e.Param.dim() >= 2).Sum(e => e.Length);
    }

    public void ZeroGrad() => Grad.zero_();

    /// <summary>
    /// Scales g by min(1, maxNorm / (‖g‖ + 1e−6)) on the device, with no host synchronisation;
    /// returns ‖g‖ before clipping as a 0-d tensor.
    /// </summary>
    public Tensor ClipGradNorm(double maxNorm)
    {
        var norm = Grad.norm();                                           // ()
        using (var scale = (maxNorm / (norm + 1e-6)).clamp_max(1.0))      // ()
            Grad.mul_(scale);
        return norm;
    }

    public void Dispose() { Data.Dispose(); Grad.Dispose(); }
}
