using MiniGpt.Logs;

namespace MiniGpt.Tests.Logs;

public class SmoothingTests
{
    [Fact]
    public void DebiasedEma_HandComputed()
    {
        // w = 0.5: s₁ = 0.5·2 = 1 → /(1 − 0.5) = 2; s₂ = 0.5·1 + 0.5·4 = 2.5 → /(1 − 0.25) = 3.3333
        var s = Smoothing.Ema([2.0, 4.0], 0.5);
        Assert.Equal(2.0, s[0], 12);
        Assert.Equal(10.0 / 3, s[1], 12);
    }

    [Fact]
    public void ZeroWeight_IsRaw_AndAConstantStaysConstant()
    {
        Assert.Equal([1.0, 5.0, 2.0], Smoothing.Ema([1.0, 5.0, 2.0], 0));
        Assert.All(Smoothing.Ema([3.0, 3.0, 3.0, 3.0], 0.9), v => Assert.Equal(3.0, v, 12));
    }

    [Fact]
    public void WeightOutsideZeroToOne_IsRejected() => Assert.Throws<ArgumentOutOfRangeException>(() => Smoothing.Ema([1.0], 1.0));
}
