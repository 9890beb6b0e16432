using MiniGpt.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Generation;

public class SamplingTests
{
    static readonly Tensor Logits = log(tensor(new[] { 0.05, 0.30, 0.15, 0.50 }, dtype: float32));

    static HashSet<int> Draw(SamplingOptions o, int n = 2000)
    {
        using var g = new Generator(11);
        return Enumerable.Range(0, n).Select(_ => Sampling.Next(Logits, o, g)).ToHashSet();
    }

    [Fact]
    public void TopK_NeverSamplesOutsideTheKBest() => Assert.Equal([1, 3], Draw(new SamplingOptions(1.0, TopK: 2)).Order());

    [Fact]
    public void TopP_NeverSamplesOutsideTheNucleus()
    {
        // Sorted: 0.50 (id 3), 0.30 (id 1), 0.15, 0.05. Mass before id 1 is 0.5 < 0.7, before the next 0.8 ≥ 0.7.
        Assert.Equal([1, 3], Draw(new SamplingOptions(1.0, TopP: 0.7)).Order());
        Assert.Equal([3], Draw(new SamplingOptions(1.0, TopP: 0.5)).Order());
        Assert.Equal([0, 1, 2, 3], Draw(new SamplingOptions(1.0, TopP: 1.0)).Order());
    }

    [Theory]
    [InlineData(1e-300)]
    [InlineData(double.Epsilon)]
    public void ATemperatureSmallEnoughToOverflow_IsGreedy(double temperature)
    {
        // log probabilities are at most 3 in size: dividing by τ < 3 / 3.4e38 overflows float32.
        Assert.Equal([3], Draw(new SamplingOptions(temperature), n: 50));
        Assert.Equal([3], Draw(new SamplingOptions(temperature, TopK: 2, TopP: 0.9), n: 50));
    }

    [Fact]
    public void ADraw_IsMultinomialsOwn_ForTheSameGeneratorState()
    {
        // multinomial(p, 1) is argmax(p / q), q ~ Exp(1): the same ids, draw for draw, from generators in the same state.
        using var a = new Generator(5);
        using var b = new Generator(5);
        var probs = Logits.softmax(-1);
        var ours = Enumerable.Range(0, 300).Select(_ => Sampling.Next(Logits, new SamplingOptions(1.0), a)).ToArray();
        var torchs = Enumerable.Range(0, 300).Select(_ => (int)multinomial(probs, 1, generator: b).item<long>()).ToArray();
        Assert.Equal(torchs, ours);
    }

    [Fact]
    public void Batch_FiltersEachRowByItsOwnLogits()
    {
        var z = stack([Logits, Logits.flip(0)]);                                     // (2, 4): the best is id 3, then id 0
        var kept = Sampling.Filter(z, topK: 1, topP: null);
        Assert.Equal(new[] { 3L, 0L }, kept.argmax(-1).data<long>().ToArray());
        Assert.Equal(2, kept.isfinite().sum().item<long>());
        var nucleus = Sampling.Filter(z, topK: null, topP: 0.6);                     // 0.5 + 0.3 reach 0.6: ids {3, 1} and {0, 2}
        Assert.Equal(new[] { false, true, false, true, true, false, true, false }, nucleus.isfinite().flatten().data<bool>().ToArray());
    }

    [Fact]
    public void TopKAndTopP_Combine() => Assert.Equal([3], Draw(new SamplingOptions(1.0, TopK: 3, TopP: 0.4)).Order());

    [Fact]
    public void Unfiltered_FollowsTheProbabilities()
    {
        using var g = new Generator(5);
        var counts = new int[4];
        for (int i = 0; i < 20_000; i++) counts[Sampling.Next(Logits, new SamplingOptions(1.0), g)]++;
        Assert.InRange(counts[3] / 20_000.0, 0.48, 0.52);
        Assert.InRange(counts[0] / 20_000.0, 0.04, 0.06);
    }

    [Theory]
    [InlineData(-0.1, null, null, "temperature = -0.1: must be a finite number ≥ 0")]
    [InlineData(double.PositiveInfinity, null, null, "temperature = Infinity: must be a finite number ≥ 0")]
    [InlineData(1.0, 0, null, "top_k = 0: must be ≥ 1")]
    [InlineData(1.0, null, 0.0, "top_p = 0: must be in (0, 1]")]
    [InlineData(1.0, null, 1.5, "top_p = 1.5: must be in (0, 1]")]
    public void BadOptions_AreNamed(double t, int? k, double? p, string problem)
        => Assert.Equal(problem, Assert.Single(new SamplingOptions(t, k, p).Problems()).ToString());
}
