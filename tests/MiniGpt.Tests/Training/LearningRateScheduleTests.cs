using MiniGpt.Config;
using MiniGpt.Training;

namespace MiniGpt.Tests.Training;

public class LearningRateScheduleTests
{
    static readonly TrainConfig C = new() { LearningRate = 1e-3, MinLr = 1e-4, WarmupIters = 100, LrDecayIters = 2000 };

    [Fact]
    public void Warmup_IsLinearFromLrOverWarmupPlusOne()
    {
        Assert.Equal(1e-3 * 1 / 101, LearningRateSchedule.At(0, C), 15);
        Assert.Equal(1e-3 * 100 / 101, LearningRateSchedule.At(99, C), 15);
    }

    [Fact]
    public void Cosine_StartsAtLr_IsHalfwayAtTheMiddle_EndsAtMinLr()
    {
        Assert.Equal(1e-3, LearningRateSchedule.At(100, C), 15);
        Assert.Equal((1e-3 + 1e-4) / 2, LearningRateSchedule.At(1050, C), 15);
        Assert.Equal(1e-4, LearningRateSchedule.At(2000, C), 15);
        Assert.Equal(1e-4, LearningRateSchedule.At(5000, C), 15);
    }

    [Fact]
    public void NoDecay_IsConstant() => Assert.Equal(1e-3, LearningRateSchedule.At(1500, C with { DecayLr = false }));
}
