using System.Diagnostics;
using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Generation;

/// <summary>What a sampling benchmark measured. Decode rates are per sample; a batch of N gives N times as many tokens.</summary>
public sealed record SamplingBenchResult(int Samples, int PromptTokens, double TimeToFirstTokenMs, double PrefillTokensPerSec,
    double TimeToFirstTokenUncachedMs, int NewTokens, double DecodeTokensPerSec, double DecodeTokensPerSecUncached, int? DecodeThreads, bool SlicedRows);

/// <summary>
/// Times sampling from a model on random token ids: the prefill of a prompt up to its first new token, then decoding
/// from a one-token prompt with and without the KV cache. Each figure is the median of its rounds; the speed of a
/// model does not depend on its weights, so a model at its initial weights serves as well as a trained one.
/// </summary>
public static class SamplingBenchmark
{
    /// <summary>The largest batch timed.</summary>
    public const int MaxSamples = 1024;

    /// <summary>The longest random prompt: a prompt past block_size keeps its last block anyway.</summary>
    public const int MaxPromptTokens = 1 << 20;

    public static SamplingBenchResult Run(Gpt model, int promptTokens, int newTokens, int samples = 1, int rounds = 3, bool uncached = true, long seed = 1)
    {
        var problems = new List<ConfigProblem>();
        // The samples are one batch, each with a generator, its logits and its keys and values: 10⁸ of them took 22 GB
        // before the kernel killed the process.
        if (promptTokens is < 1 or > MaxPromptTokens) problems.Add(new("prompt_tokens", ConfigProblem.Show(promptTokens), $"must be in [1, {MaxPromptTokens:N0}]"));
        if (newTokens < 1) problems.Add(new("max_new_tokens", ConfigProblem.Show(newTokens), "must be ≥ 1"));
        if (samples is < 1 or > MaxSamples) problems.Add(new("num_samples", ConfigProblem.Show(samples), $"must be in [1, {MaxSamples:N0}]: they are decoded as one batch"));
        if (rounds < 1) problems.Add(new("rounds", ConfigProblem.Show(rounds), "must be ≥ 1"));
        if (problems.Count > 0) throw new ConfigException(problems);
        using var g = new Generator((ulong)seed);
        var prompt = randint(model.Config.VocabSize, [promptTokens], generator: g).data<long>().Select(i => (int)i).ToArray();
        var options = new SamplingOptions(Temperature: 1.0);
        var cached = new TextGenerator(model, useKvCache: true);
        var plain = new TextGenerator(model, useKvCache: false);

        double Seconds(TextGenerator generator, IReadOnlyList<int> from, int tokens)
        {
            var generators = Enumerable.Range(0, samples).Select(i => new Generator((ulong)(seed + i))).ToArray();
            try
            {
                var clock = Stopwatch.StartNew();
                foreach (var _ in generator.GenerateBatch(from, tokens, options, generators)) { }
                return clock.Elapsed.TotalSeconds;
            }
            finally { foreach (var x in generators) x.Dispose(); }
        }
        double Median(Func<double> measure, int n)
        {
            var times = Enumerable.Range(0, n).Select(_ => measure()).Order().ToArray();
            return n % 2 == 1 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
        }

        Seconds(cached, prompt, 2);   // warm-up: first calls, kernel choices
        double ttft = Median(() => Seconds(cached, prompt, 1), rounds);
        double ttftPlain = Median(() => Seconds(plain, prompt, 1), rounds);
        double decode = Median(() => Seconds(cached, prompt[..1], newTokens), rounds);
        double decodePlain = uncached ? Median(() => Seconds(plain, prompt[..1], newTokens), 1) : double.NaN;
        int window = Math.Min(promptTokens, model.Config.BlockSize);   // a longer prompt keeps its last block
        return new(samples, window, ttft * 1000, samples * window / ttft, ttftPlain * 1000, newTokens,
            newTokens / decode, newTokens / decodePlain, cached.DecodeThreads, cached.SlicesRows);
    }
}
