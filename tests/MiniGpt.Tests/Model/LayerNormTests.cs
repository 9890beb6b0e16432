using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class LayerNormTests
{
    /// <summary>
    /// FORMULAS §6 on x = [1, 2, 3]: μ = 2, σ² = 2/3, so y = ±1 / √(2/3 + ε) at the ends and 0 in the middle.
    /// ε = 0 gives √1.5 = 1.2247448714; ε = 1e-5 gives 1.2247356859; ε = 1/3 makes σ² + ε = 1 and y = [−1, 0, 1].
    /// The tolerance is far below what ε changes, so a LayerNorm that ignored ε would fail.
    /// </summary>
    [Theory]
    [InlineData(false, 0.0, 1.2247448713915890)]
    [InlineData(true, 0.0, 1.2247448713915890)]
    [InlineData(false, 1e-5, 1.2247356859083902)]
    [InlineData(true, 1e-5, 1.2247356859083902)]
    [InlineData(false, 1.0 / 3, 1.0)]
    [InlineData(true, 1.0 / 3, 1.0)]
    public void WorkedExample_Section6(bool fused, double eps, double edge)
    {
        var ln = new LayerNorm(3, hasBias: true, fused, eps).to(float64);
        Close(tensor(new[] { -edge, 0, edge }), ln.call(tensor(new double[] { 1, 2, 3 })), 1e-12);
    }

    [Fact]
    public void GammaAndBeta_ScaleAndShift()
    {
        var ln = new LayerNorm(3, hasBias: true, fused: false, eps: 0).to(float64);
        using (no_grad()) { ln.weight.fill_(2); ln.bias!.fill_(1); }
        Close(tensor(new[] { 1 - 2 * 1.224745, 1, 1 + 2 * 1.224745 }), ln.call(tensor(new double[] { 1, 2, 3 })), 1e-5);
    }

    [Fact]
    public void Fused_EqualsExplicit_ForwardAndBackward()
        => FusedParity.CheckModules(fused => new LayerNorm(6, hasBias: true, fused), 2, 3, 6);

    [Fact]
    public void GradientCheck()
    {
        var ln = new LayerNorm(4, hasBias: true, fused: false).to(float64);
        var x = GradCheck.Input(1, 2, 4);
        var err = GradCheck.MaxError(() => ln.call(x).pow(3).sum(), [x, ln.weight, ln.bias!]);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }
}
