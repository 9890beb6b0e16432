using MiniGpt.Config;
using MiniGpt.Training;

namespace MiniGpt.Tests.TestSupport;

/// <summary>A tiny training config over a small generated corpus in a temp folder: hermetic and fast.</summary>
public static class TinyRun
{
    public static string Corpus(TempDir dir)
    {
        var lines = Enumerable.Range(0, 400).Select(i => $"line {i}: the quick brown fox jumps over the lazy dog {i % 7}.");
        return dir.File("corpus.txt", string.Join("\n", lines) + "\n");
    }

    public static TrainConfig Config(TempDir dir, string name = "run") => new()
    {
        OutDir = Path.Combine(dir.Path, name),
        DataDir = Path.Combine(dir.Path, "cache"),
        Corpus = Corpus(dir),
        EvalInterval = 10,
        EvalIters = 2,
        LogInterval = 5,
        SampleTokens = 8,
        BatchSize = 4,
        BlockSize = 16,
        NLayer = 2,
        NHead = 2,
        NEmbd = 16,
        LearningRate = 3e-3,
        MaxIters = 20,
        WarmupIters = 3,
        LrDecayIters = 40,
        MinLr = 1e-4,
        Device = DeviceKind.Cpu,
        Seed = 7,
    };
}
