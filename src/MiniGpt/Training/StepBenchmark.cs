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
        var device = Trainer.ResolveDevice(c.Device);
        if (device.type == DeviceType.CUDA) torch.backends.cuda.matmul.allow_tf32 = true;
        using var model = new Gpt(c.ToGptConfig(vocabSize), c.Seed);
        model.to(device);
        if (c.Dtype == "bfloat16") model.UseComputeDtype(ScalarType.BFloat16);
        model.train();
        using var flat = new FlatParameters(model.UniqueParameters());
        using var optimizer = new AdamW(flat, c.Beta1, c.Beta2, 1e-8, c.WeightDecay);
        var step = new TrainingStep(model, flat, optimizer, c.GradientAccumulationSteps, c.GradClip, device);
        using var g = new Generator((ulong)c.Seed);
        (Tensor, Tensor) Batch() => (randint(vocabSize, [c.BatchSize, c.BlockSize], generator: g), randint(vocabSize, [c.BatchSize, c.BlockSize], generator: g));
        var times = new List<double>();
        for (int i = 0; i < warmup + iters; i++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            var (loss, _) = step.Run(Batch, c.LearningRate, i);
            loss.item<float>();   // waits for the device
            if (i >= warmup) times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        double median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        double flopsPerToken = Trainer.FlopsPerToken(model.ParameterCount, c);
        double tokensPerSec = c.TokensPerIter / (median / 1000);
        return new BenchResult(device.type.ToString().ToLowerInvariant(), c.Dtype, model.ParameterCount, iters, warmup, median,
            times.Average(), tokensPerSec, flopsPerToken * tokensPerSec / c.PeakFlops, c.PeakFlops, flopsPerToken, "6N + 12*L*H*Q*T (nanoGPT)");
    }
}
