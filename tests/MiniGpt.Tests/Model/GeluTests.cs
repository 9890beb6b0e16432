using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class GeluTests
{
    [Theory]
    [InlineData(false, false, 0.841345)]
    [InlineData(false, true, 0.841345)]
    [InlineData(true, false, 0.841192)]
    [InlineData(true, true, 0.841192)]
    public void WorkedExample_Section7(bool tanh, bool fused, double expected)
    {
        var y = new Gelu(tanh, fused).call(tensor(new double[] { 1.0 }));
        Close(tensor(new[] { expected }), y, 1e-6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fused_EqualsExplicit_ForwardAndBackward(bool tanh)
    {
        var explicitGelu = new Gelu(tanh, fused: false);
        var fusedGelu = new Gelu(tanh, fused: true);
        FusedParity.Check(x => explicitGelu.call(x[0]), x => fusedGelu.call(x[0]), [4, 7]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GradientCheck(bool tanh)
    {
        var gelu = new Gelu(tanh, fused: false);
        var x = GradCheck.Input(1, 10);
        var err = GradCheck.MaxError(() => gelu.call(x).sum(), [x]);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }
}
