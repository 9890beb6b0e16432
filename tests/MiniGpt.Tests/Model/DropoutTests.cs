using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class DropoutTests
{
    /// <summary>
    /// FORMULAS §10 with p = 0.5 and x = [1, 2, 3], through forward: under seed 2 the uniforms are
    /// [0.918, 0.097, 0.709], so m = [u ≥ p] = [1, 0, 1] and y = m ⊙ x / (1 − p) = [2, 0, 6].
    /// </summary>
    [Fact]
    public void WorkedExample_Section10_InvertedScale()
    {
        var d = new Dropout(0.5, fused: false);
        d.train();
        manual_seed(2);
        Close(tensor(new[] { 0.9175606656465919, 0.09691521241229228, 0.7087511767056517 }), rand(3, dtype: float64), 1e-15);   // the draws forward makes
        manual_seed(2);
        Close(tensor(new double[] { 2, 0, 6 }), d.call(tensor(new double[] { 1, 2, 3 })), 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Eval_IsTheIdentity(bool fused)
    {
        var d = new Dropout(0.5, fused);
        d.eval();
        var x = GradCheck.Input(1, 100).detach();
        Assert.True(d.call(x).equal(x).all().item<bool>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Training_KeepsValuesScaledByInverseKeepProbability_AtTheRightRate(bool fused)
    {
        const double p = 0.3;
        var d = new Dropout(p, fused);
        d.train();
        manual_seed(42);
        var x = ones(200_000, dtype: float64);
        var y = d.call(x);
        var kept = y.ne(0);
        // Every kept value is exactly 1/(1 − p); nothing else appears.
        Close(full(kept.sum().item<long>(), 1 / (1 - p), dtype: float64), y.masked_select(kept), 1e-12);
        // Drop rate: binomial standard deviation √(p(1−p)/n) ≈ 0.001; allow 5σ.
        double rate = 1 - kept.to(float64).mean().item<double>();
        Assert.InRange(rate, p - 0.005, p + 0.005);
        // The expected activation is unchanged.
        Assert.InRange(y.mean().item<double>(), 0.99, 1.01);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Training_GradientFlowsOnlyThroughKeptUnits_WithTheSameScale(bool fused)
    {
        var d = new Dropout(0.5, fused);
        d.train();
        manual_seed(1);
        var x = GradCheck.Input(1, 1000);
        var y = d.call(x);
        y.sum().backward();
        var kept = y.detach().ne(0).to(float64);
        Close(kept * 2.0, x.grad!, 1e-12);
    }

    [Fact]
    public void RejectsRatesOutsideZeroToOne()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.0, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(-0.1, false));
    }
}
