using System.Diagnostics;
using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>What one benchmark measured; mfu uses nanoGPT's 6N + 12·L·H·Q·T FLOPs per token.</summary>
public sealed record BenchResult(string Device, string Dtype, long Parameters, int Iters, int Warmup, double MsPerIter,
    double MsPerIterMean, double TokensPerSec, double Mfu, double PeakFlops, double FlopsPerToken, string FlopsFormula);

/// <summary>
/// Times full training steps (forward, backward, clipping, AdamW) of a config's model on random batches.
/// Each step is synchronised before it is timed, and the median is reported.
/// </summary>
public static class StepBenchmark
{
    public static BenchResult Run(TrainConfig c, int vocabSize, int iters, int warmup)
    {
        if (iters < 1) throw new ArgumentException($"iters must be ≥ 1, got {iters}");
        if (warmup < 0) throw new ArgumentException($"warmup must be ≥ 0, got {warmup}");
        using var t = new TrainableModel(c, vocabSize);
        using var g = new Generator((ulong)c.Seed);
        (Tensor, Tensor) Batch() => (randint(vocabSize, [c.BatchSize, c.BlockSize], generator: g), randint(vocabSize, [c.BatchSize, c.BlockSize], generator: g));
        var times = new List<double>();
        for (int i = 0; i < warmup + iters; i++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            var (loss, _) = t.Step.Run(Batch, c.LearningRate, i);
            loss.item<float>();   // waits for the device
            if (i >= warmup) times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        double median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        double flopsPerToken = Trainer.FlopsPerToken(t.Model.ParameterCount, c);
        double tokensPerSec = c.TokensPerIter / (median / 1000);
        return new BenchResult(t.Device.type.ToString().ToLowerInvariant(), c.Dtype, t.Model.ParameterCount, iters, warmup, median,
            times.Average(), tokensPerSec, flopsPerToken * tokensPerSec / c.PeakFlops, c.PeakFlops, flopsPerToken, "6N + 12*L*H*Q*T (nanoGPT)");
    }
}
