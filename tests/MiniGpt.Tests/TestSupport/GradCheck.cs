using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.TestSupport;

/// <summary>
/// TorchSharp has no gradcheck: this compares autograd's gradient of a scalar function with central
/// differences (f(x + h) − f(x − h)) / 2h, element by element, in float64.
/// </summary>
public static class GradCheck
{
    /// <summary>
    /// The largest |analytic − numeric| / max(1, |analytic|) over every element of every input: absolute
    /// for gradients of order one, relative for large ones, where central differences lose digits.
    /// </summary>
    public static double MaxError(Func<Tensor> f, IReadOnlyList<Tensor> inputs, double h = 1e-6)
    {
        foreach (var x in inputs)
        {
            if (x.dtype != float64) throw new ArgumentException("gradient checks need float64 inputs");
            if (!x.requires_grad) throw new ArgumentException("every checked input must require grad");
            x.grad = null;
        }
        using (var y = f()) y.backward();
        var analytic = inputs.Select(x => x.grad!.detach().clone().contiguous().data<double>().ToArray()).ToList();
        double worst = 0;
        using var _ = no_grad();
        for (int i = 0; i < inputs.Count; i++)
        {
            var values = inputs[i].view(-1).data<double>();   // writes go straight to the tensor's storage
            for (long j = 0; j < values.Count; j++)
            {
                double orig = values[j];
                values[j] = orig + h;
                double plus = Eval(f);
                values[j] = orig - h;
                double minus = Eval(f);
                values[j] = orig;
                double a = analytic[i][j];
                worst = Math.Max(worst, Math.Abs((plus - minus) / (2 * h) - a) / Math.Max(1.0, Math.Abs(a)));
            }
        }
        return worst;
    }

    static double Eval(Func<Tensor> f)
    {
        using var scope = NewDisposeScope();
        return f().item<double>();
    }

    /// <summary>A float64 leaf of the given shape with values drawn from N(0, 1) by a seeded generator.</summary>
    public static Tensor Input(long seed, params long[] shape)
    {
        using var g = new Generator((ulong)seed);
        return randn(shape, dtype: float64, generator: g).requires_grad_(true);
    }
}
