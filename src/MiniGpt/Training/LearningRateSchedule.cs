using MiniGpt.Config;

namespace MiniGpt.Training;

/// <summary>
/// nanoGPT's get_lr: linear warmup <c>η · (it + 1) / (warmup + 1)</c>, then cosine decay
/// <c>η_min + ½ (1 + cos(π r)) (η − η_min)</c> with <c>r = (it − warmup) / (decay_iters − warmup)</c>,
/// then η_min after decay_iters. With decay_lr off, η throughout.
/// </summary>
public static class LearningRateSchedule
{
    public static double At(int it, TrainConfig c)
    {
        if (!c.DecayLr) return c.LearningRate;
        if (it < c.WarmupIters) return c.LearningRate * (it + 1) / (c.WarmupIters + 1);
        if (it > c.LrDecayIters) return c.MinLr;
        double ratio = (double)(it - c.WarmupIters) / (c.LrDecayIters - c.WarmupIters);
        double coeff = 0.5 * (1.0 + Math.Cos(Math.PI * ratio));
        return c.MinLr + coeff * (c.LearningRate - c.MinLr);
    }
}
