using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class LayerNormTests
{
    [Theory]
    [InlineData(false, 0.0, 1.224745)]
    [InlineData(true, 0.0, 1.224745)]
    [InlineData(false, 1e-5, 1.224736)]
    [InlineData(true, 1e-5, 1.224736)]
    public void WorkedExample_Section6(bool fused, double eps, double edge)
    {
        var ln = new LayerNorm(3, hasBias: true, fused, eps).to(float64);
        Close(tensor(new[] { -edge, 0, edge }), ln.call(tensor(new double[] { 1, 2, 3 })), 1e-5);
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
