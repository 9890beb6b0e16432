using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class CrossEntropyTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WorkedExample_Section9(bool fused)
    {
        // ŷ = softmax(log ŷ) when ŷ sums to one, so logits log ŷ give −log 0.7.
        var logits = log(tensor(new[] { 0.1, 0.7, 0.2 })).view(1, 1, 3);
        var loss = new CrossEntropy(fused).call(logits, tensor(new long[] { 1 }).view(1, 1));
        Assert.Equal(0.356675, loss.item<double>(), 6);
    }

    [Fact]
    public void IsTheMeanOverAllBatchAndTimePositions()
    {
        var logits = log(tensor(new[] { 0.1, 0.7, 0.2, 0.5, 0.25, 0.25 })).view(1, 2, 3);
        var loss = new CrossEntropy(fused: false).call(logits, tensor(new long[,] { { 1, 0 } }));
        Assert.Equal((-Math.Log(0.7) - Math.Log(0.5)) / 2, loss.item<double>(), 10);
    }

    [Fact]
    public void Fused_EqualsExplicit_ForwardAndBackward()
    {
        var targets = tensor(new long[,] { { 0, 4, 2 }, { 1, 1, 3 } });
        var (e, f) = (new CrossEntropy(false), new CrossEntropy(true));
        FusedParity.Check(x => e.call(x[0], targets), x => f.call(x[0], targets), [2, 3, 5]);
    }

    [Fact]
    public void GradientCheck()
    {
        var ce = new CrossEntropy(fused: false);
        var logits = GradCheck.Input(1, 2, 3, 4);
        var targets = tensor(new long[,] { { 0, 3, 2 }, { 1, 1, 0 } });
        var err = GradCheck.MaxError(() => ce.call(logits, targets), [logits]);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }
}
