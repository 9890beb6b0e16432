using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.TestSupport;

/// <summary>
/// Proves a fused kernel equals the explicit formula, forward and backward: both paths get the same
/// input, the same upstream gradient, and must agree to ≤ 1e-5 in float32 and ≤ 1e-10 in float64,
/// measured by <see cref="Compare.ScaledDiff"/> (absolute for values of order one).
/// </summary>
public static class FusedParity
{
    public static void Check(Func<Tensor[], Tensor> explicitPath, Func<Tensor[], Tensor> fusedPath, params long[][] inputShapes)
    {
        foreach (var (dtype, tol) in new[] { (float32, 1e-5), (float64, 1e-10) })
        {
            var inputs = inputShapes.Select((s, i) => GradCheck.Input(100 + i, s).detach().to(dtype)).ToArray();
            var (yE, gE) = Run(explicitPath, inputs);
            var (yF, gF) = Run(fusedPath, inputs);
            var fwd = Compare.ScaledDiff(yE, yF);
            Assert.True(fwd <= tol, $"{dtype} forward: max diff {fwd:E3} > {tol:E0}");
            for (int i = 0; i < gE.Length; i++)
            {
                var bwd = Compare.ScaledDiff(gE[i], gF[i]);
                Assert.True(bwd <= tol, $"{dtype} backward, input {i}: max diff {bwd:E3} > {tol:E0}");
            }
        }
    }

    /// <summary>
    /// The same for a module built twice, explicit (fused = false) and fused: parameters are randomised
    /// identically, and the input gradient and every parameter gradient must agree.
    /// </summary>
    public static void CheckModules(Func<bool, nn.Module<Tensor, Tensor>> make, params long[] inputShape)
    {
        foreach (var (dtype, tol) in new[] { (float32, 1e-5), (float64, 1e-10) })
        {
            var explicitModule = make(false).to(dtype);
            var fusedModule = make(true).to(dtype);
            using (no_grad())
            {
                var g = new Generator(3);
                foreach (var ((_, pe), (_, pf)) in explicitModule.named_parameters().Zip(fusedModule.named_parameters()))
                {
                    pe.copy_(randn(pe.shape, dtype: dtype, generator: g));
                    pf.copy_(pe);
                }
            }
            var x = GradCheck.Input(11, inputShape).detach().to(dtype);
            var (yE, gE) = Run(xs => explicitModule.call(xs[0]), [x]);
            var (yF, gF) = Run(xs => fusedModule.call(xs[0]), [x]);
            var fwd = Compare.ScaledDiff(yE, yF);
            Assert.True(fwd <= tol, $"{dtype} forward: max diff {fwd:E3} > {tol:E0}");
            Assert.True(Compare.ScaledDiff(gE[0], gF[0]) <= tol, $"{dtype} input gradient differs by {Compare.ScaledDiff(gE[0], gF[0]):E3}");
            foreach (var ((name, pe), (_, pf)) in explicitModule.named_parameters().Zip(fusedModule.named_parameters()))
            {
                var d = Compare.ScaledDiff(pe.grad!, pf.grad!);
                Assert.True(d <= tol, $"{dtype} gradient of {name}: max diff {d:E3} > {tol:E0}");
            }
        }
    }

    static (Tensor y, Tensor[] grads) Run(Func<Tensor[], Tensor> path, Tensor[] inputs)
    {
        var xs = inputs.Select(x => x.clone().requires_grad_(true)).ToArray();
        var y = path(xs);
        using var g = new Generator(7);
        var upstream = randn(y.shape, dtype: y.dtype, generator: g);
        (y * upstream).sum().backward();
        return (y.detach(), xs.Select(x => x.grad!.detach()).ToArray());
    }
}
