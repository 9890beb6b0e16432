using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>A measured peak: the FLOP/s of the fastest of a few n×n matrix products, and how it was measured.</summary>
public sealed record MeasuredPeak(double FlopsPerSec, string Method);

/// <summary>
/// Measures what a device attains on the operation that dominates training, a large matrix product
/// (2n³ FLOPs), in a given dtype. On a CPU there is no datasheet peak to divide by, and on a GPU the datasheet's
/// is seldom reached; a measured one makes mfu the share of what this device can actually do.
/// </summary>
public static class PeakFlops
{
    /// <param name="n">The matrices' size; by default 1024 on the CPU and 8192 on CUDA, each product long enough to time.</param>
    public static MeasuredPeak Measure(Device device, ScalarType dtype, int? n = null, int reps = 5)
    {
        bool cuda = device.type == DeviceType.CUDA;
        int size = n ?? (cuda ? 8192 : 1024);
        using var scope = NewDisposeScope();
        using var g = new Generator(0);
        var a = randn([size, size], generator: g).to(dtype, device);                  // (n, n)
        var b = randn([size, size], generator: g).to(dtype, device);                  // (n, n)
        double best = double.PositiveInfinity;
        for (int i = 0; i <= reps; i++)   // the first product is a warm-up: allocation, kernel choice
        {
            var clock = Stopwatch.StartNew();
            using var c = matmul(a, b);                                                 // (n, n)
            if (cuda) torch.cuda.synchronize(device);
            if (i > 0) best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        string where = cuda ? "CUDA" : $"the CPU, {get_num_threads()} threads";
        return new(2.0 * size * size * (double)size / best,
            $"measured: fastest of {reps} {size}x{size} {dtype.ToString().ToLowerInvariant()} matrix products on {where}");
    }
}
