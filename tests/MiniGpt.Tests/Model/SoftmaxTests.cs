using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class SoftmaxTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WorkedExample_Section8(bool fused)
        => Close(tensor(new[] { 0.090031, 0.244728, 0.665241 }), new Softmax(fused).call(tensor(new double[] { 1, 2, 3 })), 1e-6);

    [Fact]
    public void LargeLogits_DoNotOverflow()
    {
        var y = new Softmax(fused: false).call(tensor(new double[] { 1001, 1002, 1003 }));
        Close(tensor(new[] { 0.090031, 0.244728, 0.665241 }), y, 1e-6);
    }

    [Fact]
    public void Fused_EqualsExplicit_ForwardAndBackward()
    {
        var (e, f) = (new Softmax(false), new Softmax(true));
        FusedParity.Check(x => e.call(x[0]), x => f.call(x[0]), [3, 5]);
    }

    [Fact]
    public void GradientCheck()
    {
        var softmax = new Softmax(fused: false);
        var x = GradCheck.Input(1, 2, 4);
        var w = GradCheck.Input(2, 2, 4).detach();
        var err = GradCheck.MaxError(() => (softmax.call(x) * w).sum(), [x]);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }
}
