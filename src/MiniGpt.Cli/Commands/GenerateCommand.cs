using System.CommandLine;
using System.Diagnostics;
using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Generation;
using TorchSharp;

namespace MiniGpt.Cli.Commands;

public static class GenerateCommand
{
    /// <summary>Samples decoded together at most; each batch holds a KV cache of its size.</summary>
    const int MaxBatch = 16;

    /// <summary>The longest prompt file read: 16 M characters (only the last block_size tokens are kept).</summary>
    public const int MaxPromptChars = 1 << 24;

    /// <summary>The most samples: each is held whole to be printed at the end (100,000 of 500 tokens took 505 MB).</summary>
    public const int MaxSamples = 100_000;

    public static Command Build()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a run's out dir (its best.ckpt, else last.ckpt), a .ckpt file, a Hugging Face GPT-2 folder, or gpt2 … gpt2-xl", Required = true };
        var prompt = new Option<string?>("--prompt") { Description = "text to continue (default: a newline)" };
        var promptFile = new Option<string?>("--prompt-file") { Description = "read the prompt from a file" };
        var maxNew = OptionalNumber.WithDefault<int>("--max-new-tokens", "tokens to generate per sample", 500);
        var temperature = OptionalNumber.WithDefault<double>("--temperature", "0 is greedy", 0.8);
        var topK = OptionalNumber.Create<int>("--top-k", "sample only from the k most likely tokens");
        var topP = OptionalNumber.Create<double>("--top-p", "sample only from the smallest set of tokens with this much probability");
        var samples = OptionalNumber.WithDefault<int>("--num-samples", "independent samples (up to 100,000), drawn together in batches of up to 16; sample i uses seed + i", 1);
        var seed = OptionalNumber.WithDefault<long>("--seed", "the same seed gives the same text (sample i of --num-samples uses seed + i)", 1337);
        var noCache = new Option<bool>("--no-kv-cache") { Description = "recompute the whole context for every token" };
        var device = new ChoiceOption<DeviceKind>("--device", "where to run", DeviceKind.Auto);
        var cmd = new Command("generate", "Stream text from a trained checkpoint.")
        {
            checkpoint, prompt, promptFile, maxNew, temperature, topK, topP, samples, seed, noCache, device.Option,
        };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            NativeTorch.Load();
            var options = new SamplingOptions(r.GetValue(temperature), r.GetValue(topK), r.GetValue(topP));
            var problems = options.Problems().ToList();
            if (r.GetValue(maxNew) < 0) problems.Add(new("max_new_tokens", ConfigProblem.Show(r.GetValue(maxNew)), "must be ≥ 0"));
            if (r.GetValue(samples) is < 1 or > MaxSamples) problems.Add(new("num_samples", ConfigProblem.Show(r.GetValue(samples)), $"must be in [1, {MaxSamples:N0}]"));
            if (r.GetValue(prompt) is not null && r.GetValue(promptFile) is not null) problems.Add(new("prompt_file", null, "give --prompt or --prompt-file, not both"));
            if (problems.Count > 0) throw new ConfigException(problems);
            var text = r.GetValue(promptFile) is { } pf
                ? (File.Exists(pf) ? MiniGpt.IO.TextFile.Read(pf, MaxPromptChars, "a prompt file")
                    : throw new DataException(pf, Directory.Exists(pf) ? $"prompt file {pf} is a folder, not a file" : $"prompt file {pf} not found"))
                : r.GetValue(prompt) ?? "";
            using var downloads = new Downloads();
            using var m = TrainedModel.Load(r.GetValue(checkpoint)!, device.Get(r), Downloads.OptionsFor(r.GetValue(checkpoint)!), downloads);
            var ids = m.EncodePrompt(text);   // a prompt longer than block_size: the generator keeps its last block
            var generator = new TextGenerator(m.Model, useKvCache: !r.GetValue(noCache));
            // Sample i draws from seed + i alone: it is the same text whatever --num-samples, and --seed S+i alone gives it again.
            int n = r.GetValue(samples);
            var rngs = Enumerable.Range(0, n).Select(i => new torch.Generator((ulong)(r.GetValue(seed) + i))).ToArray();
            var stdout = Console.Out;
            var decoders = Enumerable.Range(0, n).Select(_ => new StreamingDecoder(m.Tokenizer)).ToArray();
            // One sample streams as it comes; a batch is printed whole at the end, one sample after another.
            var texts = Enumerable.Range(0, n).Select(_ => new System.Text.StringBuilder()).ToArray();   // the prompt is written once a sample, not held n times
            if (n == 1) stdout.Write(text);
            var clock = Stopwatch.StartNew();
            double firstToken = 0;
            int count = 0;
            try
            {
                // At most MaxBatch samples at a time, so that many samples need no more memory than that many.
                for (int from = 0; from < n && !StandardOutput.ReaderGone(); from += MaxBatch)
                {
                    int size = Math.Min(MaxBatch, n - from), steps = 0;
                    foreach (var step in generator.GenerateBatch(ids, r.GetValue(maxNew), options, rngs[from..(from + size)]))
                    {
                        if (steps++ == 0 && from == 0) firstToken = clock.Elapsed.TotalMilliseconds;
                        for (int i = 0; i < size; i++) texts[from + i].Append(decoders[from + i].Push(step[i]));
                        if (n == 1) { stdout.Write(texts[0]); texts[0].Clear(); stdout.Flush(); }
                        if (StandardOutput.ReaderGone()) break;   // generate | head: no one reads the rest
                    }
                    count = steps;
                }
            }
            finally { foreach (var g in rngs) g.Dispose(); }
            double seconds = clock.Elapsed.TotalSeconds, perSample = seconds / ((n + MaxBatch - 1) / MaxBatch);   // batches run one after another
            for (int i = 0; i < n; i++)
            {
                if (i > 0) stdout.Write("\n---------------\n");
                if (n > 1) stdout.Write(text);
                stdout.Write(texts[i].Append(decoders[i].Flush()));
            }
            stdout.Flush();
            Console.Error.WriteLine($"\n[{(n == 1 ? "sample" : n <= MaxBatch ? $"{n} samples in one batch" : $"{n} samples in batches of {MaxBatch}")}: {count} tokens{(n == 1 ? "" : " each")} in {seconds:F2} s, " +
                                    $"{count / Math.Max(perSample, 1e-9):F1} tokens/s{(n == 1 ? "" : $" per sample, {n * count / Math.Max(seconds, 1e-9):F1} in all")}, " +
                                    $"first token after {firstToken:F1} ms (prompt {ids.Count} tokens), KV cache {(r.GetValue(noCache) ? "off" : generator.CachePositions is { } held ? $"on, {held} positions" : "on")}]");
            stdout.WriteLine();
            return 0;
        }, cmd.Options));
        return cmd;
    }
}
