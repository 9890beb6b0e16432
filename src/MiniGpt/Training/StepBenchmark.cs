using System.Diagnostics;
using MiniGpt.Config;
using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>What one benchmark measured; mfu uses nanoGPT's 6N + 12·L·H·Q·T FLOPs per token.</summary>
public sealed record BenchResult(string Device, Precision Dtype, long Parameters, int Iters, int Warmup, int SyncEvery, double MsPerIter,
    double MsPerIterMean, double TokensPerSec, double Mfu, double PeakFlops, double FlopsPerToken, string FlopsFormula, long? MemoryBytes);

/// <summary>
/// Times full training steps (forward, backward, clipping, AdamW) of a config's model on random batches.
/// Steps run in windows of <c>syncEvery</c>, with the host waiting for the device only at the end of each
/// window; the median window time per step is reported. With 1, every step is timed alone. A larger window
/// lets the host queue the next step while the GPU finishes the last, as training between log points does.
/// </summary>
public static class StepBenchmark
{
    /// <param name="memory">Measures the memory in use, called while the model, gradients and optimizer still live.</param>
    public static BenchResult Run(TrainConfig c, int vocabSize, int iters, int warmup, int syncEvery = 1, Func<long?>? memory = null)
    {
        var problems = new List<ConfigProblem>();
        if (iters < 1) problems.Add(new("iters", ConfigProblem.Show(iters), "must be ≥ 1"));
        if (warmup < 0) problems.Add(new("warmup", ConfigProblem.Show(warmup), "must be ≥ 0"));
        // Against iters only when iters itself is one: "--iters 0" alone also blamed a --sync-every no one gave.
        if (syncEvery < 1 || (iters >= 1 && syncEvery > iters)) problems.Add(new("sync_every", ConfigProblem.Show(syncEvery), $"must be in [1, iters = {iters}]"));
        if (vocabSize < 1) problems.Add(new("vocab_size", ConfigProblem.Show(vocabSize), "must be ≥ 1"));
        if (problems.Count > 0) throw new ConfigException(problems);
        using var t = new TrainableModel(c, vocabSize, Devices.Resolve(c.Device));
        using var g = new Generator((ulong)c.Seed);
        (Tensor, Tensor) Batch() => (randint(vocabSize, [c.BatchSize, c.BlockSize], generator: g), randint(vocabSize, [c.BatchSize, c.BlockSize], generator: g));
        for (int i = 0; i < warmup; i++)
        {
            using var scope = NewDisposeScope();
            t.Step.Run(Batch, c.LearningRate, i).Loss.item<float>();
        }
        var times = new List<double>();   // ms per step, one entry per window
        for (int w = 0; w < iters / syncEvery; w++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < syncEvery; i++)
            {
                using var scope = NewDisposeScope();
                var (loss, _) = t.Step.Run(Batch, c.LearningRate, warmup + w * syncEvery + i);
                if (i == syncEvery - 1) loss.item<float>();   // waits for the device
            }
            times.Add(clock.Elapsed.TotalMilliseconds / syncEvery);
        }
        times.Sort();
        double median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        double flopsPerToken = Trainer.FlopsPerToken(t.Model.ParameterCount, c);
        double tokensPerSec = c.TokensPerIter / (median / 1000);
        return new BenchResult(t.Device.type.ToString().ToLowerInvariant(), c.Dtype, t.Model.ParameterCount, times.Count * syncEvery, warmup, syncEvery, median,
            times.Average(), tokensPerSec, flopsPerToken * tokensPerSec / c.PeakFlops, c.PeakFlops, flopsPerToken, "6N + 12*L*H*Q*T (nanoGPT)", memory?.Invoke());
    }
}
