using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.TestSupport;

public static class Compare
{
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(a.shape, b.shape);
        using var d = (a.detach().to(float64) - b.detach().to(float64)).abs().max();
        return d.item<double>();
    }

    /// <summary>max |a − b| / max(1, max |a|): absolute for values of order one, relative for large ones.</summary>
    public static double ScaledDiff(Tensor a, Tensor b)
    {
        using var scale = a.detach().to(float64).abs().max();
        return MaxAbsDiff(a, b) / Math.Max(1.0, scale.item<double>());
    }

    /// <summary>Same shape, dtype and every value bit for bit (NaNs aside).</summary>
    public static bool Identical(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dtype != b.dtype) return false;
        using var same = a.detach().cpu().eq(b.detach().cpu()).all();
        return same.item<bool>();
    }

    public static Tensor T(double[] values, params long[] shape) => tensor(values, dtype: float64).reshape(shape);

    public static Tensor T(double[,] values) => tensor(values, dtype: float64);

    /// <summary>Asserts |a − b| ≤ tol elementwise and says how far apart they were.</summary>
    public static void Close(Tensor expected, Tensor actual, double tol)
    {
        var diff = MaxAbsDiff(expected, actual);
        Assert.True(diff <= tol, $"max |expected − actual| = {diff:E3} > {tol:E1}");
    }
}
